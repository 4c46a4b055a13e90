using System.Diagnostics;
using Aio;

namespace Aio.Examples.Guides;

/// <summary>docs/loop.md: callbacks, iterations, the thread-safe door, stopping and closing, errors, debug mode.</summary>
public static class LoopGuide
{
    public static void Run()
    {
        OneIterationAtATime();
        StopBeforeAndDuringRun();
        TimersInDeadlineOrder();
        ThreadSafeDoor();
        WrongThread();
        CloseRules();
        ExceptionHandler();
        SlowCallbackInDebugMode();
        PollerBackEnds();
    }

    // A callback scheduled while the loop runs a batch waits for the next iteration.
    static void OneIterationAtATime()
    {
        using var loop = new EventLoop();
        var events = new List<string>();
        loop.CallSoon(() =>
        {
            events.Add("a");
            loop.CallSoon(() => events.Add("c"));   // scheduled during iteration 1: runs in iteration 2
        });
        loop.CallSoon(() => events.Add("b"));
        loop.Stop();                                // Stop before the run: exactly one iteration
        loop.RunForever();
        Console.WriteLine($"after one iteration: {string.Join(" ", events)}");   // a b
        loop.Stop();
        loop.RunForever();
        Console.WriteLine($"after two: {string.Join(" ", events)}");             // a b c
    }

    static void StopBeforeAndDuringRun()
    {
        using var loop = new EventLoop();
        var events = new List<string>();
        loop.CallSoon(() =>
        {
            events.Add("stop");
            loop.Stop();                                  // the rest of this batch still runs
            loop.CallSoon(() => events.Add("next-run"));  // runs on the next RunForever
        });
        loop.CallSoon(() => events.Add("same-batch"));
        loop.RunForever();
        Console.WriteLine($"first run: {string.Join(" ", events)}");   // stop same-batch
        loop.Stop();
        loop.RunForever();
        Console.WriteLine($"second run: {string.Join(" ", events)}");  // stop same-batch next-run
    }

    static void TimersInDeadlineOrder()
    {
        using var loop = new EventLoop(new VirtualClock());
        var order = new List<string>();
        loop.CallAt(5, () => order.Add("5s #1"));
        loop.CallAt(5, () => order.Add("5s #2"));       // same deadline: scheduling order
        loop.CallLater(1, () => order.Add("1s"));
        loop.CallLater(0, () => order.Add("0s"));       // due now, but after callbacks already queued
        loop.CallSoon(() => order.Add("soon"));
        loop.CallAt(5, loop.Stop);
        loop.RunForever();
        Console.WriteLine($"{string.Join(", ", order)} (loop time {loop.Time()})");
        // soon, 0s, 1s, 5s #1, 5s #2 (loop time 5)
    }

    // The one door from other threads: CallSoonThreadSafe wakes a loop blocked in its poller.
    static void ThreadSafeDoor()
    {
        using var loop = new EventLoop();
        loop.CallLater(3600, () => { });      // the loop would sleep for an hour...
        var worker = new Thread(() =>
        {
            Thread.Sleep(50);
            loop.CallSoonThreadSafe(() =>     // ...but a post from another thread wakes it at once
            {
                Console.WriteLine($"on the loop thread: {Environment.CurrentManagedThreadId == loop.OwnerThreadId}");
                loop.Stop();
            });
        });
        loop.CallSoon(worker.Start);
        var wall = Stopwatch.StartNew();
        loop.RunForever();
        worker.Join();
        Console.WriteLine($"woken after {wall.Elapsed.TotalSeconds:0.0} s");
    }

    static void WrongThread()
    {
        using var loop = new EventLoop();
        Exception? error = null;
        var other = new Thread(() =>
        {
            try
            {
                loop.CallSoon(() => { });    // not thread-safe: throws
            }
            catch (InvalidOperationException e)
            {
                error = e;
            }
        });
        other.Start();
        other.Join();
        Console.WriteLine(error!.Message);
    }

    static void CloseRules()
    {
        var loop = new EventLoop();
        loop.CallSoon(() =>
        {
            try
            {
                loop.Close();                 // a running loop cannot be closed
            }
            catch (InvalidOperationException e)
            {
                Console.WriteLine($"Close while running: {e.Message}");
            }
            loop.Stop();
        });
        loop.RunForever();
        loop.Close();
        loop.Close();                         // idempotent
        try
        {
            loop.CallSoon(() => { });         // everything that schedules throws after Close
        }
        catch (InvalidOperationException e)
        {
            Console.WriteLine($"after Close: {e.Message}");
        }
    }

    // A failing callback goes to the exception handler; the loop goes on with the next one.
    static void ExceptionHandler()
    {
        using var loop = new EventLoop();
        loop.ExceptionHandler = (_, context) => Console.WriteLine($"handler: {context.Message}: {context.Exception?.Message}");
        loop.CallSoon(Fail);
        loop.CallSoon(() => Console.WriteLine("the next callback still runs"));
        loop.CallSoon(loop.Stop);
        loop.RunForever();
    }

    static void Fail() => throw new InvalidOperationException("boom");

    // In debug mode a callback or task step slower than SlowCallbackDuration is logged with its name.
    static void SlowCallbackInDebugMode()
    {
        using var loop = new EventLoop { Debug = true, SlowCallbackDuration = 0.05 };
        loop.CallSoon(Busy);
        loop.CallSoon(loop.Stop);
        loop.RunForever();   // standard error: "Aio: executing LoopGuide.Busy took 0.060 seconds"
    }

    static void Busy() => Thread.Sleep(60);

    static void PollerBackEnds()
    {
        using var byDefault = new EventLoop();                              // AIO_POLLER, else epoll on Linux
        using var portable = new EventLoop(MonotonicClock.Instance, "portable");
        Console.WriteLine($"default: {byDefault.PollerBackend}, explicit: {portable.PollerBackend}");
    }
}
