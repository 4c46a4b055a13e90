using Aio.Http.Internal;

namespace Aio.Http.Tests.WebSockets;

/// <summary>LoopBound: .NET WebSocket operations awaited as loop work.</summary>
public class LoopBoundTests
{
    [Fact]
    public void AwaitAsync_CompletionFromAnotherThreadAfterTheLoopClosed_IsDropped()
    {
        var operation = new TaskCompletionSource<int>();   // continuations run inline, on the completing thread
        var seen = new List<string>();
        using (var loop = new EventLoop(new VirtualClock()))
        {
            loop.RunUntilComplete(async () =>
            {
                AioTask<int> waiter = CreateTask(async () => await LoopBound.AwaitAsync(loop, new ValueTask<int>(operation.Task)));
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
        // The operation finishes late on a pool-like thread (as ManagedWebSocket's abort does). Posting to the closed
        // loop threw InvalidOperationException there, which .NET rethrows on the pool: the process died.
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
