using Aio;
using Aio.Testing;
using static Aio.Asyncio;

namespace Aio.Examples.Guides;

/// <summary>docs/testing.md: AioTest.Run, WaitAllTasksBlocked, and what makes a test fail.</summary>
public static class TestingGuide
{
    public static void Run()
    {
        Report(nameof(WaitFor_SlowReply_TimesOutAfterFiveSeconds), WaitFor_SlowReply_TimesOutAfterFiveSeconds);
        Report(nameof(Consumer_EmptyQueue_WaitsThenTakesItem), Consumer_EmptyQueue_WaitsThenTakesItem);
        Report(nameof(LeftoverTask_FailsTheTest), LeftoverTask_FailsTheTest);
        Report(nameof(UnretrievedException_FailsTheTest), UnretrievedException_FailsTheTest);
        Report(nameof(FailingCallback_FailsTheTest), FailingCallback_FailsTheTest);
    }

    static void Report(string name, Action test)
    {
        try
        {
            test();
            Console.WriteLine($"{name}: passed");
        }
        catch (Exception e)
        {
            Console.WriteLine($"{name}: {e.GetType().Name}: {string.Join(" ", e.Message.Split('\n').Take(2))}");
        }
    }

    static void Check(bool condition, string what)
    {
        if (!condition)
        {
            throw new InvalidOperationException($"check failed: {what}");
        }
    }

    // A test body runs on a fresh loop with virtual time: five seconds of timeouts take no real time.
    static void WaitFor_SlowReply_TimesOutAfterFiveSeconds()
    {
        double timedOutAt = AioTest.Run(async () =>
        {
            AioTask<string> reply = CreateTask(async () =>
            {
                await Sleep(60);
                return "late";
            });
            try
            {
                await WaitFor(reply, 5);
            }
            catch (TimeoutException)
            {
            }
            return EventLoop.GetRunningLoop().Time();
        });
        Check(timedOutAt == 5, "timed out at t=5");
    }

    // WaitAllTasksBlocked returns once every other task is parked: a precise "the consumer is waiting now".
    static void Consumer_EmptyQueue_WaitsThenTakesItem()
    {
        AioTest.Run(async () =>
        {
            var queue = new AioQueue<string>();
            var taken = new List<string>();
            AioTask consumer = CreateTask(async () => taken.Add(await queue.GetAsync()));
            await AioTest.WaitAllTasksBlocked();
            Check(taken.Count == 0 && !consumer.Done, "the consumer waits on the empty queue");
            queue.PutNowait("job");
            await consumer;
            Check(taken.SequenceEqual(["job"]), "the consumer took the job");
        });
    }

    static void LeftoverTask_FailsTheTest()
    {
        AioTest.Run(async () =>
        {
            _ = CreateTask(async () => await Sleep(100), "forgotten");   // never awaited nor cancelled
            await Sleep(1);
        });
    }

    static void UnretrievedException_FailsTheTest()
    {
        AioTest.Run(async () =>
        {
            AioTask failing = CreateTask(async () =>
            {
                await Sleep(1);
                throw new InvalidOperationException("nobody awaited me");
            }, "failing");
            await Sleep(2);                     // the task failed; its exception is never retrieved
        });
    }

    static void FailingCallback_FailsTheTest()
    {
        AioTest.Run(async () =>
        {
            EventLoop.GetRunningLoop().CallSoon(() => throw new FormatException("bad callback"));
            await Sleep(1);                     // the loop went on; the error reached the handler
        });
    }
}
