using System.Runtime.InteropServices;
using Aio.Http;
using Aio.Net;

namespace Aio.Bench.Workloads;

/// <summary>
/// W7's server: an Aio.Http application on 127.0.0.1:P answering GET / with "Hello, World!" (text/plain) through the
/// public API – the router and a real handler, no shortcut. Prints READY once listening; exits 0 on SIGTERM/SIGINT.
/// </summary>
internal sealed class HttpServerCommand : IBenchCommand
{
    public string Name => "http-server";

    public string Description => "W7 HTTP server: --port P [--static DIR (W10S: files under /static)] [--stats] [--alloc-profile]";

    public int Run(BenchArgs args)
    {
        int port = args.Int("port", 28080);
        string staticDir = args.Str("static", "");
        using AllocationSampler? sampler = args.Flag("alloc-profile", false) ? new AllocationSampler() : null;
        using var loop = new EventLoop();
        var stop = new AioEvent();
        void Stop(PosixSignalContext context)
        {
            context.Cancel = true;
            loop.CallSoonThreadSafe(stop.Set);
        }
        using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
        using var intr = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
        loop.RunUntilComplete(async () =>
        {
            var app = new Application();
            app.Router.Get("/", static _ => Response.Text("Hello, World!"));
            if (staticDir.Length > 0)
            {
                app.Router.Static("/static", staticDir);   // W10S: static files (sendfile on this plain socket)
            }
            HttpServer server = await app.StartAsync("127.0.0.1", port, new ServerOptions { Backlog = 512 });
            Console.WriteLine("READY");
            Console.Out.Flush();
            await stop.WaitAsync();
            await server.ShutdownAsync(0);
        });
        sampler?.Report();
        if (args.Flag("stats", false))
        {
            Console.Error.WriteLine($"allocated_bytes={GC.GetTotalAllocatedBytes(precise: true)} gen0={GC.CollectionCount(0)} gen2={GC.CollectionCount(2)} gc_pause_ms={GC.GetTotalPauseDuration().TotalMilliseconds:0.0} max_gc_pause_ms={MaxPauseMs():0.00}");
        }
        return 0;
    }

    // The longest pause among the last GCs the runtime remembers (one per kind: ephemeral, full, background).
    private static double MaxPauseMs() =>
        new[] { GCKind.Ephemeral, GCKind.FullBlocking, GCKind.Background }
            .SelectMany(k => GC.GetGCMemoryInfo(k).PauseDurations.ToArray())
            .DefaultIfEmpty(TimeSpan.Zero).Max().TotalMilliseconds;
}

/// <summary>Samples the runtime's allocation ticks (one per ~100 KB allocated) by type: where a hot path allocates.</summary>
internal sealed class AllocationSampler : System.Diagnostics.Tracing.EventListener
{
    private readonly Dictionary<string, int> _byType = new();
    private readonly object _lock = new();

    protected override void OnEventSourceCreated(System.Diagnostics.Tracing.EventSource source)
    {
        if (source.Name == "Microsoft-Windows-DotNETRuntime")
        {
            EnableEvents(source, System.Diagnostics.Tracing.EventLevel.Verbose, (System.Diagnostics.Tracing.EventKeywords)0x1);
        }
    }

    protected override void OnEventWritten(System.Diagnostics.Tracing.EventWrittenEventArgs e)
    {
        if (e.EventName == "GCAllocationTick_V4" && e.Payload is { } p)
        {
            string type = e.PayloadNames!.IndexOf("TypeName") is int i and >= 0 ? p[i]?.ToString() ?? "?" : "?";
            lock (_lock)
            {
                _byType[type] = _byType.GetValueOrDefault(type) + 1;
            }
        }
    }

    public void Report()
    {
        lock (_lock)
        {
            foreach (var kv in _byType.OrderByDescending(kv => kv.Value).Take(25))
            {
                Console.Error.WriteLine($"{kv.Value,6} {kv.Key}");
            }
        }
    }
}
