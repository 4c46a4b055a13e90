using System.Diagnostics;
using Aio.Examples.Guides;

namespace Aio.Bench.Workloads;

/// <summary>
/// A primitive written outside Aio.dll on Aio.LowLevel (examples/Guides' AioLatch) against the in-box AioEvent on
/// the same work: 100 tasks wait, one opens, repeated; waits per second of each, and their ratio, same run.
/// </summary>
internal sealed class LatchVsEvent : IBenchCommand
{
    private const int Waiters = 100;

    public string Name => "latch";

    public string Description => "AioLatch (Aio.LowLevel, outside Aio.dll) vs AioEvent: 100 waiters per round (waits/s)";

    public int Run(BenchArgs args)
    {
        int n = args.Int("n", 1_000_000);
        int repeat = args.Int("repeat", 5);
        var latch = new List<double>();
        var ev = new List<double>();
        Once(Math.Min(n, 100_000), useLatch: true);   // warm-up
        Once(Math.Min(n, 100_000), useLatch: false);
        for (int i = 0; i < repeat; i++)
        {
            // Alternate which goes first, so neither always runs right after the other's garbage.
            if (i % 2 == 0)
            {
                latch.Add(n / Once(n, useLatch: true));
                ev.Add(n / Once(n, useLatch: false));
            }
            else
            {
                ev.Add(n / Once(n, useLatch: false));
                latch.Add(n / Once(n, useLatch: true));
            }
        }
        double l = Median(latch), e = Median(ev);
        Console.WriteLine($"RESULT latch waits/s={l:F0} event waits/s={e:F0} latch/event={l / e:F2} (medians of {repeat})");
        return 0;
    }

    private static double Median(List<double> xs)
    {
        xs.Sort();
        return xs[xs.Count / 2];
    }

    private static double Once(int n, bool useLatch)
    {
        using var loop = new EventLoop();
        return loop.RunUntilComplete(async () =>
        {
            int rounds = Math.Max(n / Waiters, 1);
            long start = Stopwatch.GetTimestamp();
            var tasks = new AioTask[Waiters];
            for (int r = 0; r < rounds; r++)
            {
                if (useLatch)
                {
                    var gate = new AioLatch(1);
                    for (int i = 0; i < Waiters; i++)
                    {
                        tasks[i] = loop.CreateTask(async () => await gate.WaitAsync());
                    }
                    await Asyncio.Sleep(0);
                    gate.CountDown();
                }
                else
                {
                    var gate = new AioEvent();
                    for (int i = 0; i < Waiters; i++)
                    {
                        tasks[i] = loop.CreateTask(async () => await gate.WaitAsync());
                    }
                    await Asyncio.Sleep(0);
                    gate.Set();
                }
                await Asyncio.Wait(tasks);
            }
            return Stopwatch.GetElapsedTime(start).TotalSeconds;
        });
    }
}
