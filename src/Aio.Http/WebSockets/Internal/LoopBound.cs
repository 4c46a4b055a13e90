// LoopBound: awaits .NET's server WebSocket as loop work, not as foreign work.
//
// Design note. An Aio task that awaits a foreign Task counts as waiting for outside work: a virtual clock then gives
// it a slice of real time before jumping (the thread might deliver). The server's WebSocket is driven by the loop's own
// I/O (its stream is a protocol on the loop's transport), so its operations complete on the loop thread, from a
// callback the loop runs. Awaiting them through an AioFuture keeps virtual time jumping at once and saves the Task.
// A completion that does arrive on another thread (a contended mutex inside ManagedWebSocket hands over on the pool)
// is posted to the loop. An abandoned await (the task was cancelled) leaves the future to complete unobserved.
using System.Runtime.CompilerServices;

namespace Aio.Http.Internal;

internal static class LoopBound
{
    public static ValueTask<T> AwaitAsync<T>(EventLoop loop, ValueTask<T> operation) =>
        operation.IsCompletedSuccessfully ? new ValueTask<T>(operation.Result) : new ValueTask<T>(SlowAsync(loop, operation));

    public static ValueTask AwaitAsync(EventLoop loop, ValueTask operation)
    {
        if (operation.IsCompletedSuccessfully)
        {
            operation.GetAwaiter().GetResult();
            return ValueTask.CompletedTask;
        }
        return new ValueTask(SlowAsync(loop, AsInt(operation)));
    }

    private static async ValueTask<int> AsInt(ValueTask operation)
    {
        await operation.ConfigureAwait(false);   // completes on the loop thread (see the note at the top)
        return 0;
    }

    private static async Task<T> SlowAsync<T>(EventLoop loop, ValueTask<T> operation)
    {
        var future = loop.CreateFuture<T>();
        ConfiguredValueTaskAwaitable<T>.ConfiguredValueTaskAwaiter awaiter = operation.ConfigureAwait(false).GetAwaiter();
        awaiter.UnsafeOnCompleted(() =>
        {
            if (Environment.CurrentManagedThreadId == loop.OwnerThreadId)
            {
                Complete(future, awaiter);
            }
            else
            {
                try
                {
                    loop.CallSoonThreadSafe(() => Complete(future, awaiter));
                }
                catch (InvalidOperationException) when (loop.IsClosed)
                {
                    // The loop closed while .NET finished the operation on the pool: nobody waits for it any more, and
                    // an exception here would be unhandled on a pool thread and end the process.
                }
            }
        });
        return await future;
    }

    private static void Complete<T>(AioFuture<T> future, ConfiguredValueTaskAwaitable<T>.ConfiguredValueTaskAwaiter awaiter)
    {
        if (future.Done)
        {
            return;
        }
        try
        {
            future.SetResult(awaiter.GetResult());
        }
        catch (Exception e)
        {
            future.SetException(e);      // an OperationCanceledException cancels the future instead
            if (!future.Cancelled)
            {
                _ = future.Exception();  // retrieved: an abandoned await must not be reported as an unobserved error
            }
        }
    }
}
