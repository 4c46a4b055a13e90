using System.Buffers;
using System.IO.Pipelines;
using System.Net.WebSockets;
using System.Text;

namespace Aio.Tests.Net;

/// <summary>The Stream and IDuplexPipe adapters: foreign .NET protocol code running on the loop.</summary>
public class AdapterTests
{
    public static TheoryData<string> BackEnds => NetTest.BackEndData();

    [Theory]
    [MemberData(nameof(BackEnds))]
    public void WebSocket_OverAioNetworkStream_RunsOnTheLoop(string backEnd)
    {
        NetTest.Run(backEnd, async loop =>
        {
            int loopThread = Environment.CurrentManagedThreadId;
            await using Server server = await Asyncio.StartServerAsync(async (reader, writer) =>
            {
                using WebSocket ws = WebSocket.CreateFromStream(new AioNetworkStream(reader, writer), new WebSocketCreationOptions { IsServer = true });
                var buffer = new byte[1024];
                while (true)
                {
                    WebSocketReceiveResult r = await ws.ReceiveAsync(buffer, CancellationToken.None);
                    Assert.Equal(loopThread, Environment.CurrentManagedThreadId);
                    if (r.MessageType == WebSocketMessageType.Close)
                    {
                        await ws.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "bye", CancellationToken.None);
                        break;
                    }
                    await ws.SendAsync(buffer.AsMemory(0, r.Count), WebSocketMessageType.Text, r.EndOfMessage, CancellationToken.None);
                }
            }, "127.0.0.1", 0);

            var (reader, writer) = await Asyncio.OpenConnectionAsync("127.0.0.1", NetTest.Port(server));
            using WebSocket client = WebSocket.CreateFromStream(new AioNetworkStream(reader, writer), new WebSocketCreationOptions { IsServer = false });
            var answer = new byte[1024];
            for (int i = 0; i < 20; i++)
            {
                await client.SendAsync(Encoding.UTF8.GetBytes($"message {i}"), WebSocketMessageType.Text, true, CancellationToken.None);
                ValueWebSocketReceiveResult r = await client.ReceiveAsync(answer.AsMemory(), CancellationToken.None);
                Assert.Equal(loopThread, Environment.CurrentManagedThreadId);
                Assert.Equal($"message {i}", Encoding.UTF8.GetString(answer, 0, r.Count));
            }
            await client.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", CancellationToken.None);
            Assert.Equal(WebSocketState.Closed, client.State);
        });
    }

    [Theory]
    [MemberData(nameof(BackEnds))]
    public void DuplexPipe_RoundTrip(string backEnd)
    {
        NetTest.Run(backEnd, async loop =>
        {
            await using Server server = await Asyncio.StartServerAsync(async (reader, writer) =>
            {
                var pipe = new AioDuplexPipe(reader, writer);
                while (true)
                {
                    ReadResult result = await pipe.Input.ReadAsync();
                    foreach (ReadOnlyMemory<byte> segment in result.Buffer)
                    {
                        await pipe.Output.WriteAsync(segment);
                    }
                    pipe.Input.AdvanceTo(result.Buffer.End);
                    if (result.IsCompleted)
                    {
                        break;
                    }
                }
                await pipe.Output.CompleteAsync();
            }, "127.0.0.1", 0);

            var (r, w) = await Asyncio.OpenConnectionAsync("127.0.0.1", NetTest.Port(server));
            var client = new AioDuplexPipe(r, w);
            var payload = new byte[500_000];
            new Random(3).NextBytes(payload);
            await client.Output.WriteAsync(payload);
            w.WriteEof();
            var received = new MemoryStream();
            while (true)
            {
                ReadResult result = await client.Input.ReadAsync();
                foreach (ReadOnlyMemory<byte> segment in result.Buffer)
                {
                    received.Write(segment.Span);
                }
                client.Input.AdvanceTo(result.Buffer.End);
                if (result.IsCompleted)
                {
                    break;
                }
            }
            Assert.True(received.ToArray().AsSpan().SequenceEqual(payload));
            await client.Output.CompleteAsync();
        });
    }

    [Theory]
    [MemberData(nameof(BackEnds))]
    public void NetworkStream_ReadIsCancelledWithTheTask(string backEnd)
    {
        NetTest.Run(backEnd, async loop =>
        {
            await using Server server = await Asyncio.StartServerAsync(async (r, w) => await r.ReadAsync(), "127.0.0.1", 0);
            var (reader, writer) = await Asyncio.OpenConnectionAsync("127.0.0.1", NetTest.Port(server));
            var stream = new AioNetworkStream(reader, writer);
            bool movedOn = await Asyncio.MoveOnAfter(0.1, async () => _ = await stream.ReadAsync(new byte[10]));
            Assert.False(movedOn);
            Assert.Throws<NotSupportedException>(() => stream.Read(new byte[1], 0, 1));
            await stream.DisposeAsync();
            Assert.True(writer.IsClosing);
        });
    }
}
