using System.Text;
using static Aio.Http.Tests.Server.Harness;

namespace Aio.Http.Tests.Server;

/// <summary>The hook the WebSocket layer builds on: after a 101 the taker owns the connection and the bytes already received.</summary>
public class UpgradeTests
{
    [Fact]
    public void Upgrade_BytesAfterTheHead_GoToTheTakerAndHttpStopsParsing()
    {
        var app = new Application();
        app.Router.Get("/up", _ => Response.Upgrade("shout", async up =>
        {
            up.Transport.Write(Encoding.ASCII.GetBytes(Encoding.ASCII.GetString(up.ReceivedBytes).ToUpperInvariant()));
            await Sleep(1);
        }));
        string answer = TestLoop.Run(async () =>
        {
            await using var client = new TestClient(app);
            return await ExchangeAsync(client, [Encoding.ASCII.GetBytes("GET /up HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: shout\r\n\r\nhello GET / HTTP/1.1\r\n\r\n")]);
        });
        Assert.Equal("HTTP/1.1 101 Switching Protocols\r\nDate: X\r\nUpgrade: shout\r\nConnection: Upgrade\r\n\r\nHELLO GET / HTTP/1.1\r\n\r\n", answer);
    }
}
