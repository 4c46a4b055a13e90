using Aio;

namespace Aio.Examples.Guides;

/// <summary>docs/networking.md: an echo server written as a protocol and as a stream handler.</summary>
public static class NetworkingGuide
{
    public static void Run()
    {
        // Start both servers on one loop, echo a line through each, and close them.
        Asyncio.Run(async () =>
        {
            EventLoop loop = EventLoop.GetRunningLoop();
            await using Server protocolServer = await ProtocolServerAsync(loop);
            AioTask streams = Asyncio.CreateTask(StreamServerAsync, "stream server");
            await Asyncio.Sleep(0.05);
            foreach (int port in (int[])[8888, 8889])
            {
                (AioStreamReader reader, AioStreamWriter writer) = await Asyncio.OpenConnectionAsync("127.0.0.1", port);
                writer.Write("ping\n"u8);
                Console.WriteLine($"port {port} echoed {System.Text.Encoding.UTF8.GetString(await reader.ReadLineAsync()).Trim()}");
                writer.Close();
            }
            streams.Cancel();
            try
            {
                await streams;
            }
            catch (CancelledError)
            {
                Console.WriteLine("stream server cancelled");
            }
        });
    }

    static async Task<Server> ProtocolServerAsync(EventLoop loop)
    {
        Server server = await loop.CreateServerAsync(() => new Echo(), "127.0.0.1", 8888);
        return server;
    }

    static async Task StreamServerAsync()
    {
        // Streams: a handler task per connection.
        Server server = await Asyncio.StartServerAsync(async (reader, writer) =>
        {
            await foreach (byte[] line in reader) { writer.Write(line); await writer.DrainAsync(); }
            writer.Close();
        }, "127.0.0.1", 8889);
        await server.ServeForeverAsync();
    }
}

// Protocol: the fast path.
sealed class Echo : IProtocol
{
    ITransport _t = null!;
    public void ConnectionMade(ITransport t) => _t = t;
    public void DataReceived(ReadOnlySpan<byte> data) => _t.Write(data);   // the span is valid during the call only
    public void ConnectionLost(Exception? e) { }
}
