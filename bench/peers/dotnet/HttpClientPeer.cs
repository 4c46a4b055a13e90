using System.Diagnostics;
using System.Globalization;

namespace Peers.DotNet;

/// <summary>
/// W8's plain .NET peer: one <see cref="HttpClient"/> (its default SocketsHttpHandler), conc workers on the thread pool
/// making GETs in turn and checking the bodies; warm-up requests first, untimed. Prints RESULT workload=W8 peer=dotnet.
/// </summary>
internal static class HttpClientPeer
{
    private const string Expect = "Hello, World!";

    public static async Task<int> RunAsync(string url, int n, int conc, int warmup)
    {
        using var client = new HttpClient();
        if (warmup > 0)
        {
            await RunAsync(client, url, warmup, conc);
        }
        double cpu0 = Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds;
        long t0 = Stopwatch.GetTimestamp();
        int bad = await RunAsync(client, url, n, conc);
        double elapsed = Stopwatch.GetElapsedTime(t0).TotalSeconds;
        double cpu = Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds - cpu0;
        if (bad > 0)
        {
            Console.Error.WriteLine($"W8 check failed: {bad} bad bodies");
            return 1;
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"RESULT workload=W8 peer=dotnet value={n / elapsed:F1} unit=req/s n={n} elapsed_s={elapsed:F4} cpu_s={cpu:F3} conc={conc} cpu_us_per_req={cpu / n * 1e6:F1}"));
        return 0;
    }

    private static async Task<int> RunAsync(HttpClient client, string url, int n, int conc)
    {
        int started = 0, bad = 0;
        async Task Worker()
        {
            while (Interlocked.Increment(ref started) <= n)
            {
                using HttpResponseMessage response = await client.GetAsync(url);
                if (await response.Content.ReadAsStringAsync() != Expect)
                {
                    Interlocked.Increment(ref bad);
                }
            }
        }
        await Task.WhenAll(Enumerable.Range(0, conc).Select(_ => Worker()));
        return bad;
    }
}
