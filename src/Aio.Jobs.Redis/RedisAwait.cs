using Aio.LowLevel;
using StackExchange.Redis;

namespace Aio.Jobs.Redis;

/// <summary>
/// How this package awaits StackExchange.Redis. The client completes a reply's task on the thread that read it; the
/// continuation registered here is an await continuation captured on the loop's own
/// <see cref="SynchronizationContext"/>, so that thread posts it straight into the loop's inbox: one post per reply,
/// no hop through the thread pool (a <c>ContinueWith</c> on the default scheduler would add one: the client's tasks
/// run their continuations asynchronously). On the loop the post ends the outside-work count and completes the
/// <see cref="AioFuture{T}"/> the caller awaits — so the ambient cancel scope can interrupt the await (the command
/// itself still reaches Redis: scripts are written so that a command whose reply nobody reads leaves a consistent
/// state). A command in flight is outside work that will report back (a reply, or the client's own timeout): on a
/// virtual clock, time does not jump past it, so a test's schedule does not depend on how fast Redis answers on a
/// loaded machine. While it is pending a real-time loop sleeps in its poller; the post wakes it.
/// </summary>
internal static class RedisAwait
{
    public static Task<T> Call<T>(Task<T> call) => Await(call);

    public static Task Call(Task call) => Await(call.ContinueWith(static t =>
    {
        t.GetAwaiter().GetResult();
        return true;
    }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default));

    /// <summary>Evaluates a Lua script by its SHA (StackExchange.Redis loads it on first use and after a restart).</summary>
    public static Task<RedisResult> Eval(IDatabase db, string script, RedisKey[] keys, RedisValue[] args) =>
        Await(db.ScriptEvaluateAsync(script, keys, args));

    private static async Task<T> Await<T>(Task<T> call)
    {
        if (call.IsCompleted)
        {
            return await call;
        }
        var reply = new Reply<T>(call);
        EventLoop loop = reply.Loop;
        loop.BeginOutsideWork(OutsideWorkKind.Reporting);
        SynchronizationContext? current = SynchronizationContext.Current;
        SynchronizationContext.SetSynchronizationContext(loop.SynchronizationContext);   // captured by the continuation
        try
        {
            call.ConfigureAwait(true).GetAwaiter().UnsafeOnCompleted(reply.OnArrived);
        }
        finally
        {
            SynchronizationContext.SetSynchronizationContext(current);
        }
        return await reply;
    }

    /// <summary>The future an awaiting task waits on; completed on the loop by the reply's one post (dropped if the loop closed: nothing waits any more).</summary>
    private sealed class Reply<T>(Task<T> call) : AioFuture<T>
    {
        public void OnArrived()
        {
            Loop.EndOutsideWork(OutsideWorkKind.Reporting);
            if (call.IsCompletedSuccessfully)
            {
                TrySetResult(call.Result);
                return;
            }
            Exception error = call.IsCanceled
                ? new TaskCanceledException(call)
                : call.Exception!.InnerExceptions.Count == 1 ? call.Exception.InnerException! : call.Exception;
            TrySetException(error);   // false when the caller stopped waiting (cancelled): the error is observed here all the same
        }
    }

    /// <summary>Milliseconds since the Unix epoch on <paramref name="clock"/>.</summary>
    public static long Ms(TimeProvider clock) => clock.GetUtcNow().ToUnixTimeMilliseconds();
}
