using System.Diagnostics;

namespace Aio.Bench.Workloads;

/// <summary>W4: one producer puts 0..n−1 into an AioQueue of capacity 100, one consumer takes them; check the sum.</summary>
internal sealed class W4Queue : IBenchCommand
{
    public string Name => "W4";

    public string Description => "AioQueue(100) producer/consumer (items/s)";

    public int Run(BenchArgs args) => Measure.Throughput(args, "W4", "items/s", 1_000_000, Once);

    private static double Once(int n)
    {
        using var loop = new EventLoop();
        return loop.RunUntilComplete(async () =>
        {
            var q = new AioQueue<int>(100);
            long start = Stopwatch.GetTimestamp();
            AioTask producer = loop.CreateTask(async () =>
            {
                for (int i = 0; i < n; i++)
                {
                    await q.PutAsync(i);
                }
            });
            AioTask<long> consumer = loop.CreateTask(async () =>
            {
                long sum = 0;
                for (int i = 0; i < n; i++)
                {
                    sum += await q.GetAsync();
                }
                return sum;
            });
            await producer;
            long total = await consumer;
            double elapsed = Stopwatch.GetElapsedTime(start).TotalSeconds;
            if (total != (long)n * (n - 1) / 2)
            {
                throw new InvalidOperationException($"W4 check failed: sum {total}");
            }
            return elapsed;
        });
    }
}

/// <summary>W5: 1,000 tasks × 100 acquisitions of one AioLock; inside: read a counter, yield, write counter+1; check the counter.</summary>
internal sealed class W5Lock : IBenchCommand
{
    public string Name => "W5";

    public string Description => "AioLock contention, 1000 tasks x 100 (acquisitions/s)";

    // n acquisitions as n/100 tasks × 100 each (1,000 × 100 at the default n), as every peer splits them.
    public int Run(BenchArgs args) => Measure.Throughput(args, "W5", "acquisitions/s", 100_000, n => Once(Math.Max(n / 100, 1), 100));

    private sealed class State
    {
        public readonly AioLock Lock = new();
        public int Counter;
        public int Per;
    }

    // A coroutine: calling it creates the task (asyncio's create_task(worker(s))).
    private static async AioTask<int> Worker(State s)
    {
        for (int i = 0; i < s.Per; i++)
        {
            using (await s.Lock.AcquireAsync())
            {
                int c = s.Counter;
                await Asyncio.Sleep(0);
                s.Counter = c + 1;
            }
        }
        return 0;
    }

    private static double Once(int tasks, int per)
    {
        using var loop = new EventLoop();
        return loop.RunUntilComplete(async () =>
        {
            var state = new State { Per = per };
            long start = Stopwatch.GetTimestamp();
            var all = new AioTask<int>[tasks];
            for (int t = 0; t < tasks; t++)
            {
                all[t] = Worker(state);
            }
            await Asyncio.Gather(all);
            double elapsed = Stopwatch.GetElapsedTime(start).TotalSeconds;
            if (state.Counter != tasks * per)
            {
                throw new InvalidOperationException($"W5 check failed: counter {state.Counter} != {tasks * per}");
            }
            return elapsed;
        });
    }
}
