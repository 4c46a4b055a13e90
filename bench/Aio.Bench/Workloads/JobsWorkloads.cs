using System.Diagnostics;
using System.Globalization;
using Aio.Jobs;

namespace Aio.Bench;

/// <summary>
/// The scheduler on the real clock: n fixed-rate jobs at 1 s intervals on one loop (phases spread evenly
/// over the second unless --spread 0), each with a no-op body that records how late it started
/// (loop time at the start of the run minus its tick's time). After --warmup seconds, --duration seconds
/// are measured: fires per second, lateness p50/p99/max, CPU per fire.
/// </summary>
internal sealed class JobsRealTime : IBenchCommand
{
    public string Name => "jobs";

    public string Description => "n fixed-rate 1 s jobs on the real clock: fires/s, lateness p50/p99/max, CPU per fire";

    public int Run(BenchArgs args)
    {
        int n = args.Int("n", 100_000);
        int duration = args.Int("duration", 10);
        int warmup = args.Int("warmup", 3);
        bool spread = args.Int("spread", 1) == 1;
        var lateness = new double[(long)n * (duration + 2)];
        long count = 0;
        bool measuring = false;
        double elapsed = 0, cpu = 0;
        long misfired = 0, skipped = 0;
        (int G0, int G1, int G2, TimeSpan Pause) gc0 = default, gc1 = default;
        using var loop = new EventLoop();
        loop.RunUntilComplete(async () =>
        {
            var jobs = new Scheduler();
            Func<JobContext, Task> body = ctx =>
            {
                if (measuring && count < lateness.Length)
                {
                    lateness[count++] = loop.Time() - ctx.ScheduledTime;
                }
                return Task.CompletedTask;
            };
            for (int i = 0; i < n; i++)
            {
                jobs.Every(TimeSpan.FromSeconds(1), body, "job-" + i.ToString(CultureInfo.InvariantCulture),
                    new JobOptions { StartDelay = spread ? TimeSpan.FromSeconds((double)i / n) : TimeSpan.Zero });
            }
            AioTask driver = loop.CreateTask(() => jobs.RunAsync(), "scheduler");
            await Asyncio.Sleep(warmup);
            double cpu0 = Measure.CpuSeconds();
            double t0 = loop.Time();
            gc0 = (GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2), GC.GetTotalPauseDuration());
            measuring = true;
            await Asyncio.Sleep(duration);
            measuring = false;
            elapsed = loop.Time() - t0;
            cpu = Measure.CpuSeconds() - cpu0;
            gc1 = (GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2), GC.GetTotalPauseDuration());
            foreach (Job job in jobs.Jobs)
            {
                misfired += job.Statistics.Misfired;
                skipped += job.Statistics.Skipped;
            }
            await jobs.StopAsync(TimeSpan.FromSeconds(5));
            await driver;
        });
        double[] sorted = lateness[..(int)count];
        Array.Sort(sorted);
        double P(double q) => sorted.Length == 0 ? 0 : sorted[Math.Min(sorted.Length - 1, (int)(q * sorted.Length))] * 1000;
        string extra = string.Create(CultureInfo.InvariantCulture,
            $"lat_p50_ms={P(0.50):0.###} lat_p99_ms={P(0.99):0.###} lat_max_ms={(sorted.Length == 0 ? 0 : sorted[^1] * 1000):0.###} cpu_per_1k_fires={cpu / count * 1000:0.######} cpu_per_fire_us={cpu / count * 1e6:0.##} jobs={n} spread={(spread ? 1 : 0)} misfired={misfired} skipped={skipped} gc0={gc1.G0 - gc0.G0} gc1={gc1.G1 - gc0.G1} gc2={gc1.G2 - gc0.G2} gc_pause_ms={(gc1.Pause - gc0.Pause).TotalMilliseconds:0}");
        Console.WriteLine(Measure.Result("jobs", count / elapsed, "fires/s", count, elapsed, cpu, extra));
        return 0;
    }
}

/// <summary>
/// The cost of the scheduler's timer structure as jobs grow: for n = 10 … 100,000 fixed-rate 1 s jobs on a
/// virtual clock (no waiting: the loop jumps from fire to fire), about --fires fires each; prints the CPU
/// and the bytes allocated per fire. One timer and a heap: the cost per fire should stay nearly flat.
/// </summary>
internal sealed class JobsScale : IBenchCommand
{
    public string Name => "jobs-scale";

    public string Description => "CPU and allocation per fire for 10 … 100,000 jobs (virtual clock)";

    public int Run(BenchArgs args)
    {
        int fires = args.Int("fires", 1_000_000);
        Once(1000, 100_000);   // warm-up
        Console.WriteLine("| jobs | fires | CPU per fire (µs) | allocated per fire (B) |");
        Console.WriteLine("|---:|---:|---:|---:|");
        foreach (int n in new[] { 10, 100, 1_000, 10_000, 100_000 })
        {
            (long count, double cpu, double bytes) = Once(n, fires);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {n:N0} | {count:N0} | {cpu / count * 1e6:0.00} | {bytes / count:0} |"));
        }
        return 0;
    }

    private static (long Fires, double Cpu, double Bytes) Once(int n, int fires)
    {
        using var loop = new EventLoop(new VirtualClock());
        long count = 0;
        double cpu = 0;
        long bytes = 0;
        int seconds = Math.Max(10, fires / n);
        loop.RunUntilComplete(async () =>
        {
            var jobs = new Scheduler();
            Func<JobContext, Task> body = _ =>
            {
                count++;
                return Task.CompletedTask;
            };
            for (int i = 0; i < n; i++)
            {
                jobs.Every(TimeSpan.FromSeconds(1), body, "job-" + i.ToString(CultureInfo.InvariantCulture),
                    new JobOptions { StartDelay = TimeSpan.FromSeconds((double)i / n) });
            }
            AioTask driver = loop.CreateTask(() => jobs.RunAsync(), "scheduler");
            await Asyncio.Sleep(1.5);   // every job armed and fired once
            count = 0;
            long bytes0 = GC.GetTotalAllocatedBytes(precise: true);
            double cpu0 = Measure.CpuSeconds();
            await Asyncio.Sleep(seconds);
            cpu = Measure.CpuSeconds() - cpu0;
            bytes = GC.GetTotalAllocatedBytes(precise: true) - bytes0;
            await jobs.StopAsync();
            await driver;
        });
        return (count, cpu, bytes);
    }
}
