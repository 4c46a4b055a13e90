using System.Diagnostics;
using System.Globalization;

namespace Aio.Bench;

/// <summary>A command of the bench program: a workload (prints one RESULT line) or a server.</summary>
internal interface IBenchCommand
{
    string Name { get; }

    string Description { get; }

    int Run(BenchArgs args);
}

/// <summary>Parsed <c>--key value</c> options.</summary>
internal sealed class BenchArgs
{
    private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);

    public BenchArgs(string[] args)
    {
        for (int i = 0; i < args.Length; i++)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal))
            {
                throw new ArgumentException($"unexpected argument '{args[i]}'; options look like --n 1000");
            }
            string key = args[i][2..];
            _values[key] = i + 1 < args.Length && !args[i + 1].StartsWith("--", StringComparison.Ordinal) ? args[++i] : "1";
        }
    }

    public int Int(string key, int fallback) => _values.TryGetValue(key, out string? v) ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;

    public string Str(string key, string fallback) => _values.TryGetValue(key, out string? v) ? v : fallback;

    public bool Flag(string key, bool fallback) => _values.TryGetValue(key, out string? v) ? v is "1" or "true" : fallback;
}

/// <summary>Measurement helpers shared by the workloads: the RESULT line, process CPU time, /proc/self/status.</summary>
internal static class Measure
{
    public static double CpuSeconds() => Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds;

    /// <summary>A field of /proc/self/status in KiB (VmRSS, VmHWM); 0 where it does not exist.</summary>
    public static long StatusKiB(string field)
    {
        const string path = "/proc/self/status";
        if (!File.Exists(path))
        {
            return 0;
        }
        foreach (string line in File.ReadLines(path))
        {
            if (line.StartsWith(field + ":", StringComparison.Ordinal))
            {
                string[] parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                return long.Parse(parts[1], CultureInfo.InvariantCulture);
            }
        }
        return 0;
    }

    /// <summary>Resets VmHWM to the current RSS (Linux: write 5 to /proc/self/clear_refs), so the peak measures only what follows.</summary>
    public static void ResetPeak()
    {
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    /// <summary>
    /// The shape every throughput workload shares: one in-process warm-up at n/10 (unless --warmup 0),
    /// then the timed run, then the RESULT line with n/elapsed in <paramref name="unit"/>.
    /// <paramref name="once"/> runs the workload for a given n and returns its elapsed seconds.
    /// </summary>
    public static int Throughput(BenchArgs args, string workload, string unit, int defaultN, Func<int, double> once)
    {
        int n = args.Int("n", defaultN);
        if (args.Int("warmup", 1) == 1)
        {
            once(Math.Max(1, n / 10));
        }
        double cpu0 = CpuSeconds();
        long allocated0 = GC.GetTotalAllocatedBytes(precise: true);
        int gen0 = GC.CollectionCount(0), gen1 = GC.CollectionCount(1), gen2 = GC.CollectionCount(2);
        TimeSpan pause0 = GC.GetTotalPauseDuration();
        double elapsed = once(n);
        double cpu = CpuSeconds() - cpu0;
        Console.WriteLine(Result(workload, n / elapsed, unit, n, elapsed, cpu));
        if (args.Flag("gc", false))
        {
            // Where the time went: allocation per operation and the collections it caused (not part of the RESULT contract).
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"GC bytes_per_op={(GC.GetTotalAllocatedBytes(precise: true) - allocated0) / (double)n:0.#} gen0={GC.CollectionCount(0) - gen0} gen1={GC.CollectionCount(1) - gen1} gen2={GC.CollectionCount(2) - gen2} pause_s={(GC.GetTotalPauseDuration() - pause0).TotalSeconds:0.######}"));
        }
        return 0;
    }

    public static string Result(string workload, double value, string unit, long n, double elapsed, double cpu, string extra = "") =>
        string.Create(CultureInfo.InvariantCulture,
            $"RESULT workload={workload} peer=aio value={value:0.###} unit={unit} n={n} elapsed_s={elapsed:0.######} cpu_s={cpu:0.###}{(extra.Length > 0 ? " " + extra : "")}");
}
