using System.Diagnostics;
using System.Net;
using System.Text;
using Aio.Testing;
using static Aio.Asyncio;

namespace Aio.Tests.Net;

/// <summary>Virtual time with sockets registered: loopback I/O is served first, and idle time still jumps.</summary>
public sealed class VirtualTimeNetTests
{
    private static async Task Echo(AioStreamReader reader, AioStreamWriter writer)
    {
        while (await reader.ReadLineAsync() is { Length: > 0 } line)
        {
            writer.Write(line);
            await writer.DrainAsync();
        }
        writer.Close();
    }

    public static TheoryData<string> BackEnds => NetTest.BackEndData();

    [Theory]
    [MemberData(nameof(BackEnds))]
    public void VirtualClock_WithAServerAndAConnectionOpen_ServesLoopbackIo_AndStillJumpsWhenIdle(string backEnd)
    {
        var wall = Stopwatch.StartNew();
        (string reply, double slept) = AioTest.Run(async () =>
        {
            EventLoop loop = EventLoop.GetRunningLoop();
            // A loaded machine can hold a portable back end's completion (a pool thread) past the default 0.25 s of
            // real time, and the loop would then jump to the timeout: give loopback I/O a generous wait before a jump.
            ((VirtualClock)loop.Clock).ForeignWaitThreshold = 2;
            await using Server server = await StartServerAsync(Echo, "127.0.0.1", 0);
            var (reader, writer) = await OpenConnectionAsync("127.0.0.1", ((IPEndPoint)server.Sockets[0]).Port);
            // A loopback round trip inside a virtual timeout: the reply comes long before the loop would jump.
            string reply = await FailAfter(5, async () =>
            {
                writer.Write("ping\n"u8);
                await writer.DrainAsync();
                return Encoding.ASCII.GetString(await reader.ReadLineAsync());
            });
            double t0 = loop.Time();
            await Sleep(3600);   // the server and the connection stay registered: time must still move
            double slept = loop.Time() - t0;
            writer.Close();
            await writer.WaitClosedAsync();
            return (reply, slept);
        }, virtualTime: true, poller: backEnd);
        Assert.Equal("ping\n", reply);
        Assert.Equal(3600, slept, 3);
        Assert.InRange(wall.Elapsed.TotalSeconds, 0, 20); // one ForeignWaitThreshold (2 s here) of real time per jump, not an hour
    }
}
