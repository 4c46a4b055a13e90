using Aio.Http.Internal;

namespace Aio.Http.Tests.WebSockets;

/// <summary>LoopBound: .NET WebSocket operations awaited as loop work.</summary>
public class LoopBoundTests
{
    [Fact]
    public void AwaitAsync_CompletionFromAnotherThreadAfterTheLoopClosed_IsDropped() =>
        CompletionAfterTheLoopClosed_IsDropped((loop, operation) => LoopBound.AwaitAsync(loop, operation));

    [Fact]
    public void LoopBoundWait_CompletionOnTheLoop_ResumesTheTaskWithTheResult()
    {
        var seen = new List<string>();
        using var loop = new EventLoop(new VirtualClock());
        loop.RunUntilComplete(async () =>
        {
            var wait = new LoopBoundWait<int>(loop, "test");
            var operation = new TaskCompletionSource<int>();
            var failing = new TaskCompletionSource<int>();
            AioTask<int> waiter = CreateTask(async () => await wait.AwaitAsync(new ValueTask<int>(operation.Task)));
            await Sleep(0);
            seen.Add($"parked {waiter.Done}");
            operation.SetResult(7);                 // on the loop thread, from a callback: wakes the parked task
            seen.Add($"result {await waiter}");
            AioTask<int> second = CreateTask(async () => await wait.AwaitAsync(new ValueTask<int>(failing.Task)));
            await Sleep(0);
            failing.SetException(new InvalidOperationException("boom"));
            try
            {
                await second;
            }
            catch (InvalidOperationException e)
            {
                seen.Add($"error {e.Message}");
            }
            seen.Add($"done at once {await wait.AwaitAsync(new ValueTask<int>(3))}");
        });
        Assert.Equal(["parked False", "result 7", "error boom", "done at once 3"], seen);
    }

    [Fact]
    public void LoopBoundWait_CompletionFromAnotherThreadAfterTheLoopClosed_IsDropped() =>
        CompletionAfterTheLoopClosed_IsDropped((loop, operation) => new LoopBoundWait<int>(loop, "test").AwaitAsync(operation));

    /// <summary>
    /// A task awaits a .NET operation through <paramref name="awaitOperation"/> and is cancelled; the loop closes; then the
    /// operation finishes late on another thread (as ManagedWebSocket's abort does). Posting to the closed loop threw
    /// InvalidOperationException there, which .NET rethrows on the pool: the process died. Now it is dropped.
    /// </summary>
    private static void CompletionAfterTheLoopClosed_IsDropped(Func<EventLoop, ValueTask<int>, ValueTask<int>> awaitOperation)
    {
        var operation = new TaskCompletionSource<int>();   // continuations run inline, on the completing thread
        var seen = new List<string>();
        using (var loop = new EventLoop(new VirtualClock()))
        {
            loop.RunUntilComplete(async () =>
            {
                AioTask<int> waiter = CreateTask(async () => await awaitOperation(loop, new ValueTask<int>(operation.Task)));
                await Sleep(0);
                waiter.Cancel();
                try
                {
                    await waiter;
                }
                catch (CancelledError)
                {
                    seen.Add("abandoned");
                }
            });
        }
        Exception? error = null;
        var thread = new Thread(() =>
        {
            try
            {
                operation.SetResult(1);
                seen.Add("completed");
            }
            catch (Exception e)
            {
                error = e;
            }
        });
        thread.Start();
        thread.Join();
        Assert.Null(error);
        Assert.Equal(["abandoned", "completed"], seen);
    }
}
