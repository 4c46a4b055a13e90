// LoopBound: awaits .NET's server WebSocket as loop work, not as foreign work.
//
// Design note. An Aio task that awaits a foreign Task counts as waiting for outside work: a virtual clock then gives
// it a slice of real time before jumping (the thread might deliver). The server's WebSocket is driven by the loop's own
// I/O (its stream is a protocol on the loop's transport), so its operations complete on the loop thread, from a
// callback the loop runs. Awaiting them through an AioFuture keeps virtual time jumping at once and saves the Task.
// A completion that does arrive on another thread (a contended mutex inside ManagedWebSocket hands over on the pool)
// is posted to the loop (or dropped once the loop is closed). An abandoned await (the task was cancelled) leaves the future to complete unobserved.
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
                PostToLoop(loop, () => Complete(future, awaiter));
            }
        });
        return await future;
    }

    /// <summary>
    /// Posts a completion that arrived on another thread. One that arrives after the loop closed (an abandoned await,
    /// finished by ManagedWebSocket's abort on the pool) has nobody left to tell: it is dropped, not thrown on a pool
    /// thread, where it would end the process.
    /// </summary>
    private static void PostToLoop(EventLoop loop, Action callback)
    {
        if (loop.IsClosed)
        {
            return;
        }
        try
        {
            loop.CallSoonThreadSafe(callback);
        }
        catch (InvalidOperationException) when (loop.IsClosed)
        {
            // Closed between the check and the call.
        }
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
