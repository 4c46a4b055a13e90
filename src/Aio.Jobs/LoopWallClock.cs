namespace Aio.Jobs;

/// <summary>
/// A wall clock that reads a loop's clock from a chosen starting date: <see cref="GetUtcNow"/> is
/// <c>start + (loop.Time() − loop time at creation)</c>, to the 100 ns tick. On a <see cref="VirtualClock"/> it lets a test
/// put a scheduler just before a daylight-saving transition, or on any date, and run days of cron in milliseconds
/// (pass it as <see cref="SchedulerOptions.WallClock"/>). Only <see cref="GetUtcNow"/> is overridden: timestamps and
/// timers are the system's, which the scheduler does not use.
/// </summary>
public sealed class LoopWallClock : TimeProvider
{
    private readonly EventLoop _loop;
    private readonly DateTimeOffset _start;
    private readonly double _origin;

    /// <summary>Creates a wall clock reading <paramref name="start"/> now and following <paramref name="loop"/>'s clock from here.</summary>
    public LoopWallClock(EventLoop loop, DateTimeOffset start)
    {
        ArgumentNullException.ThrowIfNull(loop);
        _loop = loop;
        _start = start.ToUniversalTime();
        _origin = loop.Time();
    }

    /// <inheritdoc/>
    public override DateTimeOffset GetUtcNow() =>
        _start + TimeSpan.FromTicks((long)Math.Round((_loop.Time() - _origin) * TimeSpan.TicksPerSecond));

    /// <inheritdoc/>
    public override string ToString() => $"<LoopWallClock {GetUtcNow():O}>";
}
