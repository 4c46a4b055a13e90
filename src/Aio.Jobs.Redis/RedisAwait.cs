using Aio.LowLevel;
using StackExchange.Redis;

namespace Aio.Jobs.Redis;

/// <summary>
/// How this package awaits StackExchange.Redis. Its tasks complete on the thread pool; awaiting them through
/// <see cref="Asyncio.Cancellable{T}(Task{T})"/> brings the continuation back to the loop and lets the ambient
/// cancel scope interrupt the await (the command itself still reaches Redis: scripts are written so that a
/// command whose reply nobody reads leaves a consistent state). A command in flight is outside work that will
/// report back (a reply, or the client's own timeout): on a virtual clock, time does not jump past it, so a
/// test's schedule does not depend on how fast Redis answers on a loaded machine.
/// </summary>
internal static class RedisAwait
{
    public static Task<T> Call<T>(Task<T> call) => Asyncio.Cancellable(Track(call));

    public static Task Call(Task call) => Asyncio.Cancellable(Track(call));

    /// <summary>Evaluates a Lua script by its SHA (StackExchange.Redis loads it on first use and after a restart).</summary>
    public static Task<RedisResult> Eval(IDatabase db, string script, RedisKey[] keys, RedisValue[] args) =>
        Asyncio.Cancellable(Track(db.ScriptEvaluateAsync(script, keys, args)));

    /// <summary>Counts <paramref name="call"/> as outside work of the running loop until its reply is back on the loop.</summary>
    private static TTask Track<TTask>(TTask call) where TTask : Task
    {
        if (call.IsCompleted || EventLoop.TryGetRunningLoop() is not { } loop)
        {
            return call;
        }
        loop.BeginOutsideWork(OutsideWorkKind.Reporting);
        call.ContinueWith(static (_, state) =>
        {
            var l = (EventLoop)state!;
            try
            {
                l.CallSoonThreadSafe(() => l.EndOutsideWork(OutsideWorkKind.Reporting));
            }
            catch (InvalidOperationException)
            {
                // The loop closed meanwhile: nothing is waiting for the count any more.
            }
        }, loop, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return call;
    }

    /// <summary>Milliseconds since the Unix epoch on <paramref name="clock"/>.</summary>
    public static long Ms(TimeProvider clock) => clock.GetUtcNow().ToUnixTimeMilliseconds();
}
