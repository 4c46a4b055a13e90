using System.Globalization;
using Aio.Http;

namespace Aio.Bench.Workloads;

/// <summary>
/// W8: HTTP client. One loop, one <see cref="ClientSession"/>, --conc workers (default 64) each making GETs of --url in
/// turn and checking the body, until --n requests are done; --warmup requests first (default 2,000), not timed.
/// Prints RESULT workload=W8 with req/s, the process CPU seconds and cpu_us_per_req.
/// </summary>
internal sealed class HttpClientCommand : IBenchCommand
{
    public string Name => "http-client";

    public string Description => "W8 HTTP client: --url U [--n 20000] [--conc 64] [--warmup 2000] [--expect 'Hello, World!'] [--timeouts default|none] [--gc]";

    public int Run(BenchArgs args)
    {
        string url = args.Str("url", "http://127.0.0.1:8080/");
        int n = args.Int("n", 20_000), conc = args.Int("conc", 64), warmup = args.Int("warmup", 2_000);
        string expect = args.Str("expect", "Hello, World!");
        // --timeouts none: no ClientTimeout limits (measures what the default limits' cancel scopes cost).
        ClientTimeout timeout = args.Str("timeouts", "default") == "none" ? ClientTimeout.None : ClientTimeout.Default;
        bool gc = args.Flag("gc", false);
        return Asyncio.Run(async () =>
        {
            await using var session = new ClientSession(new ClientSessionOptions { Timeout = timeout });
            if (warmup > 0)
            {
                await RunAsync(session, url, expect, warmup, conc);
            }
            long allocated0 = GC.GetTotalAllocatedBytes(precise: true);
            double cpu0 = Measure.CpuSeconds();
            long t0 = System.Diagnostics.Stopwatch.GetTimestamp();
            int bad = await RunAsync(session, url, expect, n, conc);
            double elapsed = System.Diagnostics.Stopwatch.GetElapsedTime(t0).TotalSeconds;
            double cpu = Measure.CpuSeconds() - cpu0;
            if (bad > 0)
            {
                Console.Error.WriteLine($"W8 check failed: {bad} of {n} bodies were not '{expect}'");
                return 1;
            }
            Console.WriteLine(Measure.Result("W8", n / elapsed, "req/s", n, elapsed, cpu,
                string.Create(CultureInfo.InvariantCulture, $"conc={conc} cpu_us_per_req={cpu / n * 1e6:0.#}")));
            if (gc)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"GC bytes_per_req={(GC.GetTotalAllocatedBytes(precise: true) - allocated0) / (double)n:0}"));
            }
            return 0;
        });
    }

    private static async Task<int> RunAsync(ClientSession session, string url, string expect, int n, int conc)
    {
        int started = 0, bad = 0;
        async Task Worker()
        {
            while (started < n)
            {
                started++;
                await using ClientResponse response = await session.GetAsync(url);
                if (await response.TextAsync() != expect)
                {
                    bad++;
                }
            }
        }
        await Asyncio.Gather(Enumerable.Range(0, conc).Select(_ => Asyncio.CreateTask(Worker)).ToArray());
        return bad;
    }
}
