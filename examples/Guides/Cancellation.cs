using Aio;
using static Aio.Asyncio;

namespace Aio.Examples.Guides;

/// <summary>docs/cancellation.md: level-triggered scopes, shielding, timeouts, TaskGroup, foreign APIs, refusing.</summary>
public static class CancellationGuide
{
    public static void Run()
    {
        Show(CancellationIsLevelTriggered);
        Show(RefusingACancellation);
        Show(RequestedButNeverDelivered);
        Show(CancelBeforeTheFirstStep);
        Show(CancellationGoesDownTheAwaitChain);
        Show(ShieldedCleanup);
        Show(CancelScopeByHand);
        Show(TimeoutAndMoveOnAfter);
        Show(PastDeadline);
        Show(NestedTimeouts);
        Show(CancellationFromOutsidePassesThrough);
        Show(WaitForRefusedCancellation);
        Show(TaskGroupCancelledFromOutside);
        Show(TaskGroupErrorsWin);
        ForeignApis();
        ForeignAwaitPastTheDeadline();
    }

    static void Show(Func<Task> example)
    {
        using var loop = new EventLoop(new VirtualClock());
        loop.RunUntilComplete(example);
    }

    static async Task CancellationIsLevelTriggered()
    {
        var events = new List<string>();
        AioTask task = CreateTask(async () =>
        {
            try
            {
                await Sleep(10);
            }
            catch (CancelledError)
            {
                events.Add("caught");             // swallowing it does not end the cancellation...
            }
            try
            {
                await Sleep(1);                   // ...every later Aio await throws again
            }
            catch (CancelledError)
            {
                events.Add("thrown again");
                throw;
            }
        });
        await Sleep(1);
        task.Cancel();
        await Wait([task]);
        Console.WriteLine($"{string.Join(", ", events)}; task cancelled: {task.Cancelled}");
    }

    // The one way to refuse a cancellation: catch it and return without another Aio await.
    static async Task RefusingACancellation()
    {
        AioTask<int> task = CreateTask(async () =>
        {
            try
            {
                await Sleep(10);
                return 0;
            }
            catch (CancelledError)
            {
                return -1;                        // visible in the code: the task ends with a value
            }
        });
        await Sleep(1);
        task.Cancel();
        Console.WriteLine($"result {await task}, cancelled: {task.Cancelled}");   // result -1, cancelled: False
    }

    static async Task RequestedButNeverDelivered()
    {
        AioTask<int> task = null!;
        task = CreateTask(async () =>
        {
            await Sleep(1);
            task.Cancel();                        // requested while running...
            return 1;                             // ...and the body returns without another Aio await
        });
        await Wait([task]);
        Console.WriteLine($"cancelled: {task.Cancelled}");   // cancelled: True, as in asyncio
    }

    static async Task CancelBeforeTheFirstStep()
    {
        bool ran = false;
        AioTask task = CreateTask(async () =>
        {
            ran = true;
            await Sleep(1);
        });
        task.Cancel();                            // before its first step: the body never runs
        await Wait([task]);
        Console.WriteLine($"cancelled: {task.Cancelled}, body ran: {ran}");
    }

    static async Task CancellationGoesDownTheAwaitChain()
    {
        AioTask<int> inner = CreateTask(async () =>
        {
            await Sleep(10);
            return 1;
        });
        AioTask outer = CreateTask(async () => await inner);
        await Sleep(1);
        outer.Cancel();                           // cancels what outer awaits: inner
        await Wait([outer]);
        Console.WriteLine($"outer cancelled: {outer.Cancelled}, inner cancelled: {inner.Cancelled}");
    }

    // Cleanup that must await after a cancellation runs in a shielded scope.
    static async Task ShieldedCleanup()
    {
        AioTask task = CreateTask(async () =>
        {
            try
            {
                await Sleep(10);
            }
            finally
            {
                await new CancelScope(shield: true).RunAsync(async () =>
                {
                    await Sleep(1);               // would throw at once without the shield
                    Console.WriteLine($"cleanup finished at t={EventLoop.GetRunningLoop().Time()}");
                });
            }
        });
        await Sleep(2);
        task.Cancel();
        await Wait([task]);
        Console.WriteLine($"task cancelled: {task.Cancelled}");   // the CancelledError still propagates
    }

    static async Task CancelScopeByHand()
    {
        EventLoop loop = EventLoop.GetRunningLoop();
        var scope = new CancelScope(deadline: loop.Time() + 3);
        await scope.RunAsync(async () =>
        {
            await Sleep(1);
            scope.Deadline += 2;                  // a deadline may move while the scope runs
            await Sleep(100);
        });
        Console.WriteLine($"t={loop.Time()}, deadline reached: {scope.DeadlineReached}, caught: {scope.CancelledCaught}");
        // t=5, deadline reached: True, caught: True
    }

    static async Task TimeoutAndMoveOnAfter()
    {
        try
        {
            await FailAfter(1, async () => await Sleep(5));
        }
        catch (TimeoutException e)
        {
            Console.WriteLine($"Timeout: {e.Message} (inner: {e.InnerException!.GetType().Name})");
        }
        bool finished = await MoveOnAfter(1, async () => await Sleep(5));
        Console.WriteLine($"MoveOnAfter: finished in time = {finished}");   // false, no exception
        string value = await FailAfter(5, async () =>
        {
            await Sleep(1);
            return "in time";
        });
        Console.WriteLine($"Timeout with a value: {value}");
    }

    static async Task PastDeadline()
    {
        bool finished = await MoveOnAfter(0, async () => await Sleep(0));   // the deadline has passed on entry
        Console.WriteLine($"MoveOnAfter(0): finished in time = {finished}");   // false: even Sleep(0) threw
        EventLoop loop = EventLoop.GetRunningLoop();
        var scope = new CancelScope(deadline: loop.Time() + 10);
        await scope.RunAsync(async () =>
        {
            scope.Deadline = loop.Time();         // moved to now: the scope is cancelled at once
            await Sleep(0);                       // throws CancelledError
            Console.WriteLine("not reached");
        });
        Console.WriteLine($"deadline reached: {scope.DeadlineReached}, caught: {scope.CancelledCaught}");
    }

    // Of nested timeouts, only the one whose deadline fired converts the cancellation.
    static async Task NestedTimeouts()
    {
        try
        {
            await FailAfter(1, async () =>
            {
                try
                {
                    await FailAfter(10, async () => await Sleep(5));
                }
                catch (TimeoutException)
                {
                    Console.WriteLine("not reached: the inner deadline did not fire");
                }
            });
        }
        catch (TimeoutException)
        {
            Console.WriteLine("the outer timeout converted");
        }
    }

    static async Task CancellationFromOutsidePassesThrough()
    {
        AioTask task = CreateTask(async () => await FailAfter(10, async () => await Sleep(5)));
        await Sleep(1);
        task.Cancel();
        await Wait([task]);
        Console.WriteLine($"cancelled (not timed out): {task.Cancelled}");
    }

    static async Task WaitForRefusedCancellation()
    {
        AioTask<int> stubborn = CreateTask(async () =>
        {
            try
            {
                await Sleep(10);
                return 1;
            }
            catch (CancelledError)
            {
                return 99;
            }
        });
        Console.WriteLine($"WaitFor returns the refused cancellation's value: {await WaitFor(stubborn, 1)}");
    }

    static async Task TaskGroupCancelledFromOutside()
    {
        AioTask? child = null;
        AioTask parent = CreateTask(async () => await TaskGroup.Run(async group =>
        {
            child = group.CreateTask(async () => await Sleep(10));
            await Sleep(10);
        }));
        await Sleep(1);
        parent.Cancel();                          // cancels the body and the children, waits for them
        await Wait([parent]);
        Console.WriteLine($"parent cancelled: {parent.Cancelled}, child cancelled: {child!.Cancelled}");
    }

    static async Task TaskGroupErrorsWin()
    {
        AioTask parent = CreateTask(async () => await TaskGroup.Run(async group =>
        {
            _ = group.CreateTask(async () =>
            {
                try
                {
                    await Sleep(10);
                }
                catch (CancelledError)
                {
                    throw new InvalidOperationException("cleanup failed");
                }
            });
            await Sleep(10);
        }));
        await Sleep(1);
        parent.Cancel();
        await Wait([parent]);
        Console.WriteLine($"parent: {parent.Exception()!.GetType().Name}");   // AggregateException, not CancelledError
    }

    // Foreign APIs: pass CurrentToken, or wrap the await in Cancellable.
    static void ForeignApis()
    {
        using var loop = new EventLoop();
        loop.RunUntilComplete(async () =>
        {
            bool finished = await MoveOnAfter(0.05, async () =>
            {
                await Task.Delay(System.Threading.Timeout.Infinite, CurrentToken);   // stops with the scope
            });
            Console.WriteLine($"token-aware foreign call finished: {finished}");     // false

            var reply = new TaskCompletionSource<string>();                          // a foreign task that ignores tokens
            finished = await MoveOnAfter(0.05, async () => await Cancellable(reply.Task));
            Console.WriteLine($"Cancellable foreign await finished: {finished}");    // false: the await was interrupted
            reply.SetResult("late");                                                 // the foreign work itself went on
        });
    }

    // A deadline that passes during a foreign await: the body runs on, then the timeout still reports it.
    static void ForeignAwaitPastTheDeadline()
    {
        using var loop = new EventLoop();
        loop.RunUntilComplete(async () =>
        {
            bool finished = await MoveOnAfter(0.05, async () =>
            {
                await Task.Delay(200);                // foreign, no token: Aio cannot interrupt it
            });
            Console.WriteLine($"foreign await past the deadline finished in time: {finished}");   // false, after 0.2 s
        });
    }
}
