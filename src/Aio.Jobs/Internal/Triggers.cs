using Cronos;

namespace Aio.Jobs;

/// <summary>One tick of a trigger: its loop time, its wall-clock time, and its index in the trigger's sequence.</summary>
internal readonly record struct Tick(double Due, DateTimeOffset At, long Index);

/// <summary>
/// A sequence of ticks. A trigger computes ticks only when asked, from the loop time and the wall time of
/// that moment; the job keeps the next one. Triggers whose ticks are wall-clock times (cron, At) convert
/// them to loop time when they are computed, and the scheduler checks the wall clock again when one comes due.
/// </summary>
internal abstract class Trigger
{
    /// <summary>True if ticks are wall-clock times (cron, At): a due tick is checked against the wall clock again.</summary>
    public virtual bool WallAnchored => false;

    /// <summary>True if the next tick is known only when a run ends (fixed delay).</summary>
    public virtual bool AfterCompletion => false;

    /// <summary>True if the trigger has one tick.</summary>
    public virtual bool OneShot => false;

    /// <summary>The first tick, when the job is armed; null if there is none.</summary>
    public abstract Tick? First(double now, DateTimeOffset wallNow, TimeSpan startDelay);

    /// <summary>The tick after <paramref name="previous"/>; null if there is none (or, for fixed delay, until the run ends).</summary>
    public abstract Tick? Next(in Tick previous, double now, DateTimeOffset wallNow);

    /// <summary>The first tick at or after now, to resume a paused job or the schedule after a backoff.</summary>
    public abstract Tick? FromNow(long nextIndex, double now, DateTimeOffset wallNow);

    /// <summary>For fixed delay: the tick after a run that ended now.</summary>
    public virtual Tick? AfterRun(long nextIndex, double now, DateTimeOffset wallNow) => null;

    /// <summary>The trigger as the job listing shows it.</summary>
    public abstract override string ToString();
}

/// <summary>Fixed rate: tick k is at anchor + k × interval, computed by multiplication so the schedule never drifts.</summary>
internal sealed class EveryTrigger(TimeSpan interval, bool alignToWallClock = false) : Trigger
{
    private readonly double _interval = interval.TotalSeconds;
    private double _anchor;
    private DateTimeOffset _wallAnchor;

    public override Tick? First(double now, DateTimeOffset wallNow, TimeSpan startDelay)
    {
        _anchor = now + startDelay.TotalSeconds;
        _wallAnchor = wallNow + startDelay;
        if (alignToWallClock)
        {
            // The first whole multiple of the interval since the Unix epoch at or after the start: the same
            // wall-clock ticks in every process, whenever it started.
            long sinceEpoch = (_wallAnchor - DateTimeOffset.UnixEpoch).Ticks;
            long k = sinceEpoch <= 0 ? 0 : (sinceEpoch + interval.Ticks - 1) / interval.Ticks;
            DateTimeOffset aligned = DateTimeOffset.UnixEpoch + TimeSpan.FromTicks(k * interval.Ticks);
            _anchor += (aligned - _wallAnchor).TotalSeconds;
            _wallAnchor = aligned;
        }
        return TickAt(0);
    }

    public override Tick? Next(in Tick previous, double now, DateTimeOffset wallNow) => TickAt(previous.Index + 1);

    public override Tick? FromNow(long nextIndex, double now, DateTimeOffset wallNow)
    {
        long k = (long)Math.Ceiling((now - _anchor) / _interval - 1e-9);
        return TickAt(Math.Max(k, nextIndex));
    }

    private Tick TickAt(long k) => new(_anchor + k * _interval, _wallAnchor + TimeSpan.FromTicks(k * interval.Ticks), k);

    public override string ToString() => $"every {interval}";
}

/// <summary>Fixed delay: the next tick is a delay after the previous run ended.</summary>
internal sealed class EveryAfterTrigger(TimeSpan delay) : Trigger
{
    public override bool AfterCompletion => true;

    public override Tick? First(double now, DateTimeOffset wallNow, TimeSpan startDelay) =>
        new Tick(now + startDelay.TotalSeconds, wallNow + startDelay, 0);

    public override Tick? Next(in Tick previous, double now, DateTimeOffset wallNow) => null;

    public override Tick? FromNow(long nextIndex, double now, DateTimeOffset wallNow) => AfterRun(nextIndex, now, wallNow);

    public override Tick? AfterRun(long nextIndex, double now, DateTimeOffset wallNow) =>
        new Tick(now + delay.TotalSeconds, wallNow + delay, nextIndex);

    public override string ToString() => $"every {delay} after each run";
}

/// <summary>One tick at a wall-clock time (<see cref="Scheduler.At(DateTimeOffset, Func{JobContext, Task}, string?, JobOptions?)"/>) or after a delay (<see cref="Scheduler.Once(TimeSpan, Func{JobContext, Task}, string?, JobOptions?)"/>).</summary>
internal sealed class OnceTrigger : Trigger
{
    private readonly DateTimeOffset? _at;
    private readonly TimeSpan _delay;
    private Tick _tick;

    public OnceTrigger(DateTimeOffset at) => _at = at;

    public OnceTrigger(TimeSpan delay) => _delay = delay;

    public override bool WallAnchored => _at is not null;

    public override bool OneShot => true;

    public override Tick? First(double now, DateTimeOffset wallNow, TimeSpan startDelay)
    {
        _tick = _at is DateTimeOffset at
            ? new Tick(now + (at - wallNow).TotalSeconds, at, 0)
            : new Tick(now + (_delay + startDelay).TotalSeconds, wallNow + _delay + startDelay, 0);
        return _tick;
    }

    public override Tick? Next(in Tick previous, double now, DateTimeOffset wallNow) => null;

    public override Tick? FromNow(long nextIndex, double now, DateTimeOffset wallNow) =>
        nextIndex > 0 ? null : _at is DateTimeOffset at ? new Tick(now + (at - wallNow).TotalSeconds, at, 0) : _tick;

    public override string ToString() => _at is DateTimeOffset at ? $"once at {at:O}" : $"once after {_delay}";
}

/// <summary>Cron occurrences in a time zone, from Cronos (daylight-saving gaps and overlaps as Cronos resolves them).</summary>
internal sealed class CronTrigger(string text, CronExpression expression, TimeZoneInfo zone) : Trigger
{
    public override bool WallAnchored => true;

    public override Tick? First(double now, DateTimeOffset wallNow, TimeSpan startDelay) =>
        Occurrence(wallNow + startDelay, 0, now, wallNow);

    public override Tick? Next(in Tick previous, double now, DateTimeOffset wallNow) =>
        Occurrence(previous.At, previous.Index + 1, now, wallNow);

    public override Tick? FromNow(long nextIndex, double now, DateTimeOffset wallNow) =>
        Occurrence(wallNow, nextIndex, now, wallNow);

    private Tick? Occurrence(DateTimeOffset after, long index, double now, DateTimeOffset wallNow)
    {
        DateTimeOffset? next = expression.GetNextOccurrence(after, zone, inclusive: false);
        return next is DateTimeOffset at ? new Tick(now + (at - wallNow).TotalSeconds, at, index) : null;
    }

    public override string ToString() => $"cron '{text}' {zone.Id}";
}
