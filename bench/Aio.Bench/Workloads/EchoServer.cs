using System.Runtime.InteropServices;
using Aio.Net;

namespace Aio.Bench.Workloads;

/// <summary>
/// W6's server: echoes every byte on 127.0.0.1:P with the protocol API (a transport and an IProtocol) or
/// the streams API (a handler task per connection). Prints READY once listening; exits 0 on SIGTERM/SIGINT.
/// </summary>
internal sealed class EchoServerCommand : IBenchCommand
{
    public string Name => "echo-server";

    public string Description => "W6 echo server: --port P --api protocol|streams [--stats]";

    public int Run(BenchArgs args)
    {
        int port = args.Int("port", 25000);
        string api = args.Str("api", "protocol");
        if (api is not ("protocol" or "streams"))
        {
            Console.Error.WriteLine("--api must be protocol or streams");
            return 2;
        }
        using var loop = new EventLoop();
        Server? server = null;
        void Stop(PosixSignalContext context)
        {
            context.Cancel = true;
            // From the signal thread, through the one thread-safe door: closing the server ends ServeForeverAsync.
            loop.CallSoonThreadSafe(() => server?.Close());
        }
        using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
        using var intr = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
        loop.RunUntilComplete(async () =>
        {
            server = api == "protocol"
                ? await loop.CreateServerAsync(static () => new EchoProtocol(), "127.0.0.1", port, new ServerOptions { Backlog = 512 })
                : await Asyncio.StartServerAsync(EchoStreamAsync, "127.0.0.1", port, new StreamOptions { Backlog = 512 });
            Console.WriteLine("READY");
            Console.Out.Flush();
            await server.ServeForeverAsync();
            server.AbortClients();
            await server.WaitClosedAsync();
        });
        if (args.Flag("stats", false))
        {
            // Allocation check of the hot path: bytes allocated over the whole run, and collections.
            Console.Error.WriteLine($"allocated_bytes={GC.GetTotalAllocatedBytes(precise: true)} gen0={GC.CollectionCount(0)} gen2={GC.CollectionCount(2)}");
        }
        return 0;
    }

    /// <summary>The protocol echo: every DataReceived is written straight back (no copy, no allocation).</summary>
    private sealed class EchoProtocol : IProtocol
    {
        private ITransport _transport = null!;

        public void ConnectionMade(ITransport transport) => _transport = transport;

        public void DataReceived(ReadOnlySpan<byte> data) => _transport.Write(data);

        public void ConnectionLost(Exception? exception)
        {
        }
    }

    private static async Task EchoStreamAsync(AioStreamReader reader, AioStreamWriter writer)
    {
        try
        {
            while (true)
            {
                byte[] data = await reader.ReadAsync(65536);
                if (data.Length == 0)
                {
                    break;
                }
                writer.Write(data);
                await writer.DrainAsync();
            }
        }
        catch (IOException)
        {
        }
        finally
        {
            writer.Close();
        }
    }
}
