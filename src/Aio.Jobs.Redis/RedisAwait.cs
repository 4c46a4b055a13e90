using StackExchange.Redis;

namespace Aio.Jobs.Redis;

/// <summary>
/// How this package awaits StackExchange.Redis. Its tasks complete on the thread pool; awaiting them through
/// <see cref="Asyncio.Cancellable{T}(Task{T})"/> brings the continuation back to the loop and lets the ambient
/// cancel scope interrupt the await (the command itself still reaches Redis: scripts are written so that a
/// command whose reply nobody reads leaves a consistent state).
/// </summary>
internal static class RedisAwait
{
    public static Task<T> Call<T>(Task<T> call) => Asyncio.Cancellable(call);

    public static Task Call(Task call) => Asyncio.Cancellable(call);

    /// <summary>Evaluates a Lua script by its SHA (StackExchange.Redis loads it on first use and after a restart).</summary>
    public static Task<RedisResult> Eval(IDatabase db, string script, RedisKey[] keys, RedisValue[] args) =>
        Asyncio.Cancellable(db.ScriptEvaluateAsync(script, keys, args));

    /// <summary>Milliseconds since the Unix epoch on <paramref name="clock"/>.</summary>
    public static long Ms(TimeProvider clock) => clock.GetUtcNow().ToUnixTimeMilliseconds();
}
