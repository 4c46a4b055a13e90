using System.Net;
using System.Text;
using Aio;
using Aio.Net;
using Microsoft.Win32.SafeHandles;
using static Aio.Asyncio;

namespace Aio.Examples.Guides;

/// <summary>docs/networking.md: protocols or streams, and a graceful shutdown that lets requests in flight finish.</summary>
public static class NetworkingGuide
{
    public static void Run()
    {
        ProtocolsOrStreams();
        FinishTheRequestInFlight();
        SendAFile();
    }

    // Protocol: the fast path.
    sealed class Echo : IProtocol
    {
        ITransport _t = null!;
        public void ConnectionMade(ITransport t) => _t = t;
        public void DataReceived(ReadOnlySpan<byte> data) => _t.Write(data);   // the span is valid during the call only
        public void ConnectionLost(Exception? e) { }
    }

    static void ProtocolsOrStreams()
    {
        using var loop = new EventLoop(new VirtualClock());
        loop.RunUntilComplete(async () =>
        {
            await using Server protocols = await loop.CreateServerAsync(() => new Echo(), "127.0.0.1", 0);

            // Streams: a handler task per connection.
            await using Server streams = await StartServerAsync(async (reader, writer) =>
            {
                await foreach (byte[] line in reader) { writer.Write(line); await writer.DrainAsync(); }
                writer.Close();
            }, "127.0.0.1", 0);

            foreach (Server server in new[] { protocols, streams })
            {
                var (reader, writer) = await OpenConnectionAsync("127.0.0.1", ((IPEndPoint)server.Sockets[0]).Port);
                writer.Write("ping\n"u8);
                Console.WriteLine($"echo: {Encoding.UTF8.GetString(await reader.ReadLineAsync()).TrimEnd()}");
                writer.Close();
                await writer.WaitClosedAsync();
            }
        });
    }

    // A request/response server that shuts down as an HTTP server does: an idle connection is closed at once,
    // a request in flight is finished (and its connection closed after it), within the grace period.
    static async Task ServeRequestsAsync(Server server, AioStreamReader reader, AioStreamWriter writer)
    {
        bool busy = false;
        // A notification, not a cancellation: nothing is interrupted, each connection decides how to wind down.
        using CancellationTokenRegistration onShutdown = server.ShuttingDown.Register(() =>
        {
            if (!busy)
            {
                writer.Close();   // idle: close now; the ReadLineAsync below then sees EOF
            }
        });
        while (!server.ShuttingDown.IsCancellationRequested && await reader.ReadLineAsync() is { Length: > 0 } request)
        {
            busy = true;
            await Sleep(2);   // the work
            writer.Write(Encoding.UTF8.GetBytes($"done: {Encoding.UTF8.GetString(request)}"));
            await writer.DrainAsync();
            busy = false;
        }
        writer.Close();
    }

    static void FinishTheRequestInFlight()
    {
        using var loop = new EventLoop(new VirtualClock());
        loop.RunUntilComplete(async () =>
        {
            Server server = null!;
            server = await StartServerAsync((r, w) => ServeRequestsAsync(server, r, w), "127.0.0.1", 0);
            int port = ((IPEndPoint)server.Sockets[0]).Port;
            var (idleReader, idleWriter) = await OpenConnectionAsync("127.0.0.1", port);
            var (busyReader, busyWriter) = await OpenConnectionAsync("127.0.0.1", port);
            busyWriter.Write("report\n"u8);
            await Sleep(0.5);   // the request is in flight

            double start = loop.Time();
            await server.ShutdownAsync(gracePeriod: 10);
            Console.WriteLine($"shutdown took {loop.Time() - start} s");   // 1.5 s: the rest of the request

            Console.WriteLine($"idle client: EOF {(await idleReader.ReadAsync()).Length == 0}");
            Console.WriteLine($"busy client: {Encoding.UTF8.GetString(await busyReader.ReadLineAsync()).TrimEnd()}");
            idleWriter.Close();
            busyWriter.Close();
        });
    }

    // A file server: a header line, then the file. On a plain socket of the epoll loop the kernel copies the file
    // (sendfile(2)); on TLS or another transport it is read and written in 64 KiB blocks. Either way the header goes first.
    sealed class FileSender(string path) : IProtocol
    {
        public void ConnectionMade(ITransport t) => EventLoop.GetRunningLoop().CreateTask(async () =>
        {
            using SafeFileHandle file = File.OpenHandle(path);
            t.Write(Encoding.ASCII.GetBytes($"{RandomAccess.GetLength(file)} bytes, sendfile: {t.CanSendFile()}\n"));
            long sent = await EventLoop.GetRunningLoop().SendFileAsync(t, file);   // Write throws until it returns
            t.Close();
        });
        public void DataReceived(ReadOnlySpan<byte> data) { }
        public void ConnectionLost(Exception? e) { }
    }

    static void SendAFile()
    {
        string path = Path.GetTempFileName();
        File.WriteAllBytes(path, new byte[1 << 20]);
        using var loop = new EventLoop(new VirtualClock());
        loop.RunUntilComplete(async () =>
        {
            await using Server server = await loop.CreateServerAsync(() => new FileSender(path), "127.0.0.1", 0);
            var (reader, writer) = await OpenConnectionAsync("127.0.0.1", ((IPEndPoint)server.Sockets[0]).Port);
            Console.WriteLine(Encoding.ASCII.GetString(await reader.ReadLineAsync()).TrimEnd());
            Console.WriteLine($"received {(await reader.ReadAsync()).Length} bytes");
            writer.Close();
        });
        File.Delete(path);
    }
}
