using System.Diagnostics;

namespace Aio.Bench.Workloads;

/// <summary>W1: from inside the running loop, 1,000,000 CallSoon callbacks each increment a counter; the last completes a future.</summary>
internal sealed class W1Callbacks : IBenchCommand
{
    public string Name => "W1";

    public string Description => "CallSoon throughput (callbacks/s)";

    public int Run(BenchArgs args) => Measure.Throughput(args, "W1", "callbacks/s", 1_000_000, Once);

    private sealed class State
    {
        public int Counter;
        public int N;
        public AioFuture<bool> Done = null!;
    }

    private static double Once(int n)
    {
        using var loop = new EventLoop();
        return loop.RunUntilComplete(async () =>
        {
            var state = new State { N = n, Done = loop.CreateFuture<bool>() };
            long start = Stopwatch.GetTimestamp();
            for (int i = 0; i < n; i++)
            {
                loop.CallSoon(static s =>
                {
                    if (++s.Counter == s.N)
                    {
                        s.Done.SetResult(true);
                    }
                }, state);
            }
            await state.Done;
            double elapsed = Stopwatch.GetElapsedTime(start).TotalSeconds;
            if (state.Counter != n)
            {
                throw new InvalidOperationException($"W1 check failed: counter {state.Counter} != {n}");
            }
            return elapsed;
        });
    }
}

/// <summary>W2: 100,000 tasks each yield twice (Sleep(0)) and return i; gather; check the sum n(n−1)/2.</summary>
internal sealed class W2Spawn : IBenchCommand
{
    public string Name => "W2";

    public string Description => "task spawn + 2 yields + gather (tasks/s)";

    public int Run(BenchArgs args) => Measure.Throughput(args, "W2", "tasks/s", 100_000, Once);

    // An async AioTask method: calling it creates the task (asyncio's create_task(work(i))).
    private static async AioTask<long> Work(long i)
    {
        await Asyncio.Sleep(0);
        await Asyncio.Sleep(0);
        return i;
    }

    private static double Once(int n)
    {
        using var loop = new EventLoop();
        return loop.RunUntilComplete(async () =>
        {
            long start = Stopwatch.GetTimestamp();
            var tasks = new AioTask<long>[n];
            for (int i = 0; i < n; i++)
            {
                tasks[i] = Work(i);
            }
            long[] results = await Asyncio.Gather(tasks);
            double elapsed = Stopwatch.GetElapsedTime(start).TotalSeconds;
            long sum = 0;
            foreach (long r in results)
            {
                sum += r;
            }
            if (sum != (long)n * (n - 1) / 2)
            {
                throw new InvalidOperationException($"W2 check failed: sum {sum}");
            }
            return elapsed;
        });
    }
}

/// <summary>W3: 100,000 tasks, task i sleeps xorshift32(seed 42) mod 1001 ms; gather. Wall time and bytes per sleeping task.</summary>
internal sealed class W3Timers : IBenchCommand
{
    public string Name => "W3";

    public string Description => "100k concurrent sleeps: wall s and bytes per task";

    public int Run(BenchArgs args)
    {
        int n = args.Int("n", 100_000);
        if (args.Int("warmup", 1) == 1)
        {
            Once(n / 10, out _);
        }
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        Measure.ResetPeak();
        long rssBefore = Measure.StatusKiB("VmRSS");
        double cpu0 = Measure.CpuSeconds();
        double elapsed = Once(n, out long peakKiB);
        double cpu = Measure.CpuSeconds() - cpu0;
        long hwm = Math.Max(peakKiB, Measure.StatusKiB("VmHWM"));
        long bytesPerTask = (hwm - rssBefore) * 1024 / n;
        Console.WriteLine(Measure.Result("W3", elapsed, "s", n, elapsed, cpu, $"peak_rss_kib={hwm} bytes_per_task={bytesPerTask}"));
        return 0;
    }

    // A coroutine: calling it creates the sleeping task (asyncio's create_task(sleeper(ms))).
    private static async AioTask<int> Sleeper(int ms)
    {
        await Asyncio.Sleep(ms / 1000.0);
        return ms;
    }

    private static double Once(int n, out long peakKiB)
    {
        using var loop = new EventLoop();
        long peak = 0;
        double elapsed = loop.RunUntilComplete(async () =>
        {
            long start = Stopwatch.GetTimestamp();
            var tasks = new AioTask<int>[n];
            uint x = 42;
            for (int i = 0; i < n; i++)
            {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                int ms = (int)(x % 1001);
                tasks[i] = Sleeper(ms);
            }
            await Asyncio.Sleep(0);
            await Asyncio.Sleep(0);
            peak = Measure.StatusKiB("VmHWM");
            await Asyncio.Gather(tasks);
            return Stopwatch.GetElapsedTime(start).TotalSeconds;
        });
        peakKiB = peak;
        return elapsed;
    }
}
