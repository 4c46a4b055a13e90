using System.Diagnostics;
using Aio;
using static Aio.Asyncio;

namespace Aio.Examples.Guides;

/// <summary>docs/time.md: the loop clock, virtual time and what holds it back, TimeProvider, Sleep(0), timer order.</summary>
public static class TimeGuide
{
    public static void Run()
    {
        AnHourInMilliseconds();
        SleepZeroIsOneIteration();
        SleepersWakeInDeadlineOrder();
        TimeProviderFollowsTheLoop();
        ExecutorWorkHoldsTheClock();
        ForeignWaitThreshold();
        AdvanceByHand();
    }

    static void AnHourInMilliseconds()
    {
        var wall = Stopwatch.StartNew();
        using var loop = new EventLoop(new VirtualClock());
        double end = loop.RunUntilComplete(async () =>
        {
            AioTask[] sleepers = Enumerable.Range(1, 3600)
                .Select(i => (AioTask)CreateTask(async () => await Sleep(i)))
                .ToArray();
            await Gather(sleepers);
            return loop.Time();
        });
        Console.WriteLine($"3600 timers, loop time {end} s, wall {wall.Elapsed.TotalMilliseconds:0} ms");
    }

    // Sleep(0) yields for exactly one iteration: callbacks queued before it run first.
    static void SleepZeroIsOneIteration()
    {
        using var loop = new EventLoop(new VirtualClock());
        var events = new List<string>();
        loop.RunUntilComplete(async () =>
        {
            loop.CallSoon(() => events.Add("callback"));
            loop.CallSoon(() => loop.CallSoon(() => events.Add("callback of the next iteration")));
            await Sleep(0);
            events.Add("task resumed");
            await Sleep(0);
            events.Add("task resumed again");
        });
        Console.WriteLine(string.Join(" -> ", events));
        // callback -> task resumed -> callback of the next iteration -> task resumed again
    }

    static void SleepersWakeInDeadlineOrder()
    {
        using var loop = new EventLoop(new VirtualClock());
        var order = new List<string>();
        loop.RunUntilComplete(async () =>
        {
            AioTask Sleeper(string name, double seconds) => CreateTask(async () =>
            {
                await Sleep(seconds);
                order.Add(name);
            });
            await Gather(Sleeper("b@2", 2), Sleeper("a@1", 1), Sleeper("c@2", 2));
        });
        Console.WriteLine(string.Join(", ", order));   // a@1, b@2, c@2: equal deadlines in scheduling order
    }

    // Code written against TimeProvider follows the loop's clock, virtual time included.
    static void TimeProviderFollowsTheLoop()
    {
        var wall = Stopwatch.StartNew();
        using var loop = new EventLoop(new VirtualClock());
        loop.RunUntilComplete(async () =>
        {
            TimeProvider clock = loop.TimeProvider;
            long start = clock.GetTimestamp();
            await Task.Delay(TimeSpan.FromHours(1), clock);   // a loop timer behind TimeProvider
            Console.WriteLine($"elapsed {clock.GetElapsedTime(start)}, loop time {loop.Time()}");
        });
        Console.WriteLine($"wall {wall.Elapsed.TotalMilliseconds:0} ms");
    }

    // Executor work in flight holds the virtual clock: no timer fires until the work reports back.
    static void ExecutorWorkHoldsTheClock()
    {
        using var loop = new EventLoop(new VirtualClock());
        loop.RunUntilComplete(async () =>
        {
            AioTask<double> sleeper = CreateTask(async () =>
            {
                await Sleep(50);
                return loop.Time();
            });
            await ToThread(() => Thread.Sleep(100));          // 100 ms of real work on an executor thread
            Console.WriteLine($"executor work done at t={loop.Time()}; sleeper woke at t={await sleeper}");
            // executor work done at t=0; sleeper woke at t=50
        });
    }

    // A foreign Task the loop cannot see into holds the clock for ForeignWaitThreshold of real time only.
    static void ForeignWaitThreshold()
    {
        var clock = new VirtualClock { ForeignWaitThreshold = 0.05 };
        using var loop = new EventLoop(clock);
        loop.RunUntilComplete(async () =>
        {
            AioTask<double> sleeper = CreateTask(async () =>
            {
                await Sleep(50);
                return loop.Time();
            });
            await Task.Run(() => Thread.Sleep(300));          // foreign: not tracked like executor work
            Console.WriteLine($"foreign work done at t={loop.Time()}; sleeper woke at t={await sleeper}");
            // foreign work done at t=50: the clock jumped after 0.05 s of real idle time
        });
    }

    // Without autojump, time moves only when the test says so.
    static void AdvanceByHand()
    {
        var clock = new VirtualClock(autoJump: false);
        using var loop = new EventLoop(clock);
        loop.RunUntilComplete(async () =>
        {
            loop.CallLater(10, () => Console.Write($"[timer, t={loop.Time()}] "));
            for (int i = 0; i < 3; i++)
            {
                clock.Advance(4);       // a timer now due runs on the next iteration,
                await Sleep(0);         // after this task's resumption, which was queued first
                Console.Write($"t={loop.Time()} ");
            }
        });
        Console.WriteLine();            // t=4 t=8 t=12 [timer, t=12]
    }
}
