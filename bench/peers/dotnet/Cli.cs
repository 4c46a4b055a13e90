using System.Diagnostics;
using System.Globalization;

namespace Peers.DotNet;

/// <summary>Command-line entry: parses the arguments, runs a workload and prints its RESULT line.</summary>
internal static class Cli
{
    private const string Usage =
        "usage: Peers.DotNet W1|W2|W3|W4|W5 [--n N] [--warmup 0|1]\n" +
        "       Peers.DotNet echo-server --port P\n" +
        "       Peers.DotNet http-client --url U [--n 20000] [--conc 64] [--warmup 2000]";

    public static async Task<int> RunAsync(string[] args)
    {
        if (args.Length == 0)
        {
            return Fail(Usage);
        }

        if (args[0] == "echo-server")
        {
            return args.Length == 3 && args[1] == "--port" && int.TryParse(args[2], CultureInfo.InvariantCulture, out int port)
                ? await EchoServer.RunAsync(port)
                : Fail("usage: Peers.DotNet echo-server --port P");
        }

        if (args[0] == "http-client")
        {
            string Opt(string name, string fallback) => Array.IndexOf(args, "--" + name) is int i and > 0 && i + 1 < args.Length ? args[i + 1] : fallback;
            return await HttpClientPeer.RunAsync(Opt("url", "http://127.0.0.1:8080/"), int.Parse(Opt("n", "20000"), CultureInfo.InvariantCulture),
                int.Parse(Opt("conc", "64"), CultureInfo.InvariantCulture), int.Parse(Opt("warmup", "2000"), CultureInfo.InvariantCulture));
        }

        if (!Workloads.All.TryGetValue(args[0], out Workload? workload))
        {
            return Fail($"unknown command '{args[0]}'\n{Usage}");
        }

        int n = workload.DefaultN;
        bool warmup = true;
        for (int i = 1; i < args.Length; i++)
        {
            if (args[i] == "--n" && i + 1 < args.Length && int.TryParse(args[++i], CultureInfo.InvariantCulture, out n) && n > 0)
            {
                continue;
            }

            if (args[i] == "--warmup" && i + 1 < args.Length && args[++i] is "0" or "1")
            {
                warmup = args[i] == "1";
                continue;
            }

            return Fail($"bad argument '{args[i]}'\n{Usage}");
        }

        if (warmup)
        {
            Measurement warm = await MeasureAsync(workload, Math.Max(n / 10, 1));
            if (!warm.Ok)
            {
                return Fail($"{workload.Id} warm-up check failed (peer=dotnet)", 1);
            }
        }

        Measurement m = await MeasureAsync(workload, n);
        if (!m.Ok)
        {
            return Fail($"{workload.Id} check failed (peer=dotnet, n={n})", 1);
        }

        string value = workload.IsRate
            ? (n / m.ElapsedSeconds).ToString("F1", CultureInfo.InvariantCulture)
            : m.ElapsedSeconds.ToString("F4", CultureInfo.InvariantCulture);
        Console.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"RESULT workload={workload.Id} peer=dotnet value={value} unit={workload.Unit} n={n} elapsed_s={m.ElapsedSeconds:F4} cpu_s={m.CpuSeconds:F4}{m.Extra}"));
        return 0;
    }

    /// <summary>Runs one workload; the memory baseline is taken just before the clock starts.</summary>
    private static async Task<Measurement> MeasureAsync(Workload workload, int n)
    {
        // Leave no garbage from the warm-up run.
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        ProcStatus.ResetPeakRss();
        long rssBeforeKiB = ProcStatus.ReadKiB("VmRSS");

        TimeSpan cpu0 = Environment.CpuUsage.TotalTime;
        long t0 = Stopwatch.GetTimestamp();
        bool ok = await workload.Run(n);
        double elapsed = Stopwatch.GetElapsedTime(t0).TotalSeconds;
        double cpu = (Environment.CpuUsage.TotalTime - cpu0).TotalSeconds;

        string extra = "";
        if (workload.Id == "W3")
        {
            long peakKiB = ProcStatus.ReadKiB("VmHWM");
            long bytesPerTask = (long)Math.Round((peakKiB - rssBeforeKiB) * 1024.0 / n);
            extra = string.Create(CultureInfo.InvariantCulture, $" peak_rss_kib={peakKiB} bytes_per_task={bytesPerTask}");
        }

        return new Measurement(ok, elapsed, cpu, extra);
    }

    private static int Fail(string message, int code = 2)
    {
        Console.Error.WriteLine(message);
        return code;
    }

    private readonly record struct Measurement(bool Ok, double ElapsedSeconds, double CpuSeconds, string Extra);
}
