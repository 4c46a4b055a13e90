using System.Diagnostics;

namespace Aio.Jobs.Redis.Tests;

/// <summary>
/// Waits for the observable state of a real outside process (redis-server answering, worker processes' effects in
/// Redis) with a deadline. Those processes offer no event to wait on, so this is the one place that polls.
/// </summary>
internal static class Poll
{
    /// <summary>Checks <paramref name="condition"/> every <paramref name="interval"/> until it holds (true) or <paramref name="timeout"/> passes (false).</summary>
    public static bool Until(Func<bool> condition, TimeSpan timeout, TimeSpan interval)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > timeout)
            {
                return false;
            }
            Thread.Sleep(interval);   // an outside process's state: nothing to await
        }
        return true;
    }
}
