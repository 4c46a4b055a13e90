using Aio;
using static Aio.Asyncio;

namespace Aio.Examples.Guides;

/// <summary>docs/tasks.md: tasks and futures, names, done callbacks, unretrieved exceptions, combinators, TaskGroup.</summary>
public static class TasksGuide
{
    public static void Run()
    {
        Show(CreateTaskDefersTheBody);
        Show(CoroutinesAreTasks);
        Show(HelpersRunConcurrentlyInOneTask);
        Show(NamesAndTheRegistry);
        Show(DoneCallbacksGoThroughTheRing);
        Show(FuturesAreSetOnce);
        ExceptionNeverRetrieved();
        Show(GatherInArgumentOrder);
        Show(GatherDoesNotCancelSiblings);
        Show(GatherSettledReportsEachOutcome);
        Show(WaitReturnsDoneAndPending);
        Show(WaitForCancelsOnTimeout);
        Show(AsCompletedInCompletionOrder);
        Show(ShieldKeepsTheTaskRunning);
        Show(TaskGroupWaitsForEveryChild);
        Show(TaskGroupFailure);
    }

    /// <summary>Runs one example on a fresh loop with virtual time: long sleeps take no real time.</summary>
    static void Show(Func<Task> example)
    {
        using var loop = new EventLoop(new VirtualClock());
        loop.RunUntilComplete(example);
    }

    static async Task CreateTaskDefersTheBody()
    {
        var events = new List<string>();
        AioTask<int> task = CreateTask(async () =>
        {
            events.Add("body starts");
            await Sleep(1);
            return 42;
        });
        events.Add("task created");      // the body has not run yet: it starts on the next iteration
        int result = await task;
        events.Add($"result {result}");
        Console.WriteLine(string.Join(" -> ", events));   // task created -> body starts -> result 42
    }

    // An async AioTask method: calling it is asyncio's create_task(fetch(...)).
    static async AioTask<string> Fetch(string path, double seconds)
    {
        await Sleep(seconds);
        return $"{path}: 200";
    }

    static async Task CoroutinesAreTasks()
    {
        AioTask<string> a = Fetch("/a", 2), b = Fetch("/b", 1);   // two tasks; their bodies start on the next iteration
        Console.WriteLine(a);                                      // <Task pending name='Task-2' coro=Fetch>
        string[] pages = await Gather(a, b);
        Console.WriteLine($"{string.Join(", ", pages)} at t={EventLoop.GetRunningLoop().Time()}");   // /a: 200, /b: 200 at t=2
        await TaskGroup.Run(async g =>
        {
            AioTask<string> c = g.CreateTask(Fetch("/c", 1));     // the group's child, cancelled if a sibling fails
            Console.WriteLine(await c);                            // /c: 200
        });
    }

    static async Task HelpersRunConcurrentlyInOneTask()
    {
        var log = new List<string>();
        Task slow = Step("slow", 2, log), quick = Step("quick", 1, log);   // plain async helpers, not awaited yet
        await Task.WhenAll(slow, quick);
        Console.WriteLine(string.Join(", ", log));   // quick at t=1, slow at t=2

        static async Task Step(string name, double seconds, List<string> log)
        {
            await Sleep(seconds);
            log.Add($"{name} at t={EventLoop.GetRunningLoop().Time()}");
        }
    }

    static async Task NamesAndTheRegistry()
    {
        AioTask worker = CreateTask(async () => await Sleep(10), "worker");
        AioTask anonymous = CreateTask(async () => await Sleep(10));
        Console.WriteLine($"{worker} {anonymous}");   // <Task pending name='worker'> <Task pending name='Task-3'>
        Console.WriteLine($"pending: {AllTasks().Count}, current: {CurrentTask()!.Name}");   // pending: 3, current: Task-1
        anonymous.Name = "sleeper";
        worker.Cancel();
        anonymous.Cancel();
        await Wait([worker, anonymous]);
        Console.WriteLine($"{worker} {anonymous}");   // <Task cancelled name='worker'> <Task cancelled name='sleeper'>
    }

    static async Task DoneCallbacksGoThroughTheRing()
    {
        var events = new List<string>();
        AioFuture<int> future = EventLoop.GetRunningLoop().CreateFuture<int>();
        future.AddDoneCallback(f => events.Add($"callback 1 sees {f.Result()}"));
        future.AddDoneCallback(f => events.Add("callback 2"));
        future.SetResult(7);
        events.Add("SetResult returned");   // the callbacks were queued, not called
        await Sleep(0);                     // one iteration: they run, in registration order
        Console.WriteLine(string.Join(" -> ", events));   // SetResult returned -> callback 1 sees 7 -> callback 2
    }

    static async Task FuturesAreSetOnce()
    {
        EventLoop loop = EventLoop.GetRunningLoop();
        AioFuture<string> reply = loop.CreateFuture<string>();
        loop.CallLater(2, () => reply.SetResult("pong"));
        Console.WriteLine($"{await reply} at t={loop.Time()}");   // pong at t=2
        try
        {
            reply.SetResult("again");
        }
        catch (InvalidStateError e)
        {
            Console.WriteLine(e.Message);
        }
    }

    // A task that fails and is never awaited (nor its Exception() read) is reported to the handler.
    static void ExceptionNeverRetrieved()
    {
        var loop = new EventLoop(new VirtualClock());
        loop.ExceptionHandler = (_, context) => Console.WriteLine($"handler: {context.Message}");
        AioTask? forgotten = null;
        loop.RunUntilComplete(async () =>
        {
            forgotten = CreateTask(async () =>
            {
                await Sleep(1);
                throw new InvalidOperationException("nobody looked");
            }, "forgotten");
            await Sleep(2);
        });
        loop.Close();   // handler: Task exception was never retrieved: <Task finished exception=InvalidOperationException name='forgotten'>
        GC.KeepAlive(forgotten);
    }

    static async Task GatherInArgumentOrder()
    {
        int[] results = await Gather(After(3, 1), After(1, 2), After(2, 3));
        Console.WriteLine($"[{string.Join(", ", results)}] at t={EventLoop.GetRunningLoop().Time()}");   // [1, 2, 3] at t=3
    }

    static AioTask<int> After(double seconds, int value) =>
        CreateTask(async () =>
        {
            await Sleep(seconds);
            return value;
        });

    static AioTask<int> FailAfter(double seconds, string message) =>
        CreateTask<int>(async () =>
        {
            await Sleep(seconds);
            throw new InvalidOperationException(message);
        });

    static async Task GatherDoesNotCancelSiblings()
    {
        AioTask<int> slow = After(5, 1);
        try
        {
            await Gather(slow, FailAfter(1, "first failure"));
        }
        catch (InvalidOperationException e)
        {
            Console.WriteLine($"{e.Message} at t={EventLoop.GetRunningLoop().Time()}; slow done: {slow.Done}");
        }
        Console.WriteLine($"slow still finishes: {await slow}");   // gather does not cancel the others
    }

    static async Task GatherSettledReportsEachOutcome()
    {
        AioTask<int> cancelled = After(10, 3);
        cancelled.Cancel();
        Outcome<int>[] outcomes = await GatherSettled(After(1, 1), FailAfter(2, "bad"), cancelled);
        Console.WriteLine(string.Join(", ", outcomes));   // Ok(1), Error(InvalidOperationException: bad), Cancelled
    }

    static async Task WaitReturnsDoneAndPending()
    {
        AioTask<int> fast = After(1, 1), slow = After(5, 2);
        var (done, pending) = await Wait([fast, slow], timeout: 3, when: ReturnWhen.FirstCompleted);
        Console.WriteLine($"done: {done.Count}, pending: {pending.Count}, slow cancelled: {slow.Cancelled}");
        await slow;   // Wait never cancels: the caller decides
    }

    static async Task WaitForCancelsOnTimeout()
    {
        AioTask<int> slow = After(10, 1);
        try
        {
            await WaitFor(slow, 2);
        }
        catch (TimeoutException e)
        {
            Console.WriteLine($"{e.GetType().Name} (inner: {e.InnerException!.GetType().Name}); slow cancelled: {slow.Cancelled}");
        }
    }

    static async Task AsCompletedInCompletionOrder()
    {
        await foreach (AioTask<int> done in AsCompleted([After(3, 3), After(1, 1), After(2, 2)]))
        {
            Console.Write($"{await done} ");   // 1 2 3
        }
        Console.WriteLine();
    }

    static async Task ShieldKeepsTheTaskRunning()
    {
        AioTask<int> save = After(5, 8);
        AioTask caller = CreateTask(async () => await Shield(save));
        await Sleep(1);
        caller.Cancel();                        // cancels the caller's await, not the shielded task
        await Wait([caller]);
        Console.WriteLine($"caller cancelled: {caller.Cancelled}; save still gives {await save}");
    }

    static async Task TaskGroupWaitsForEveryChild()
    {
        var finished = new List<int>();
        await TaskGroup.Run(async group =>
        {
            foreach (int seconds in (int[])[3, 1, 2])
            {
                _ = group.CreateTask(async () =>
                {
                    await Sleep(seconds);
                    finished.Add(seconds);
                });
            }
            await Task.CompletedTask;
        });
        Console.WriteLine($"[{string.Join(", ", finished)}] at t={EventLoop.GetRunningLoop().Time()}");   // [1, 2, 3] at t=3
    }

    static async Task TaskGroupFailure()
    {
        AioTask? sibling = null;
        try
        {
            await TaskGroup.Run(async group =>
            {
                sibling = group.CreateTask(async () => await Sleep(10));
                _ = group.CreateTask(async () =>
                {
                    await Sleep(1);
                    throw new InvalidOperationException("child failed");
                });
                await Sleep(10);                // cancelled too when the child fails
            });
        }
        catch (AggregateException e)
        {
            Console.WriteLine($"{e.InnerExceptions.Count} error: {e.InnerExceptions[0].Message}; sibling cancelled: {sibling!.Cancelled}");
        }
    }
}
