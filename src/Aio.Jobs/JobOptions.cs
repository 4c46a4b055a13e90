namespace Aio.Jobs;

/// <summary>
/// How one job is scheduled and run: trigger modifiers (start delay, end, maximum runs, jitter) and the
/// overlap, misfire and error policies. Every property has a safe default; <c>new JobOptions()</c> is a
/// job that runs on every tick, skips a tick that comes while it still runs, runs once for ticks it
/// missed, and logs failures and goes on.
/// </summary>
public sealed record JobOptions
{
    /// <summary>The default options.</summary>
    public static JobOptions Default { get; } = new();

    /// <summary>
    /// How long after the job is armed (when the scheduler starts, or at once if it runs) the first tick
    /// may come. For <see cref="Scheduler.Every(TimeSpan, Func{JobContext, Task}, string?, JobOptions?)"/> the first tick is at
    /// exactly this delay (default zero: run at once, then every interval); for cron, the first occurrence
    /// at or after it.
    /// </summary>
    public TimeSpan StartDelay { get; init; }

    /// <summary>No tick is scheduled after this wall-clock time (read from <see cref="SchedulerOptions.WallClock"/>). Null: no end.</summary>
    public DateTimeOffset? EndAt { get; init; }

    /// <summary>No tick is scheduled later than this long after the job was armed. Null: no end.</summary>
    public TimeSpan? EndAfter { get; init; }

    /// <summary>The job completes after this many runs have started. Null: no limit.</summary>
    public long? MaxRuns { get; init; }

    /// <summary>
    /// Each tick fires at its time plus a uniform random delay in [0, <see cref="Jitter"/>), to spread the
    /// load of many jobs on the same schedule. The schedule itself does not move: a fixed-rate job stays
    /// anchored. Zero (the default) for none; keep it well below the interval.
    /// </summary>
    public TimeSpan Jitter { get; init; }

    /// <summary>
    /// For <see cref="Scheduler.Every(TimeSpan, Func{JobContext, Task}, string?, JobOptions?)"/>: anchor the ticks at whole
    /// multiples of the interval on the wall clock (counted from the Unix epoch; the first one at or after
    /// <see cref="StartDelay"/>) instead of at the moment the job is armed. Processes that start at different times then compute the same
    /// ticks, which is what a shared store (Aio.Jobs.Redis) needs to run each tick once between them. Default false.
    /// </summary>
    public bool AlignToWallClock { get; init; }

    /// <summary>The source of jitter. Null: a generator seeded from <see cref="SchedulerOptions.Random"/>; pass <c>new Random(seed)</c> for reproducible jitter.</summary>
    public Random? Random { get; init; }

    /// <summary>What to do when a tick comes while a run is still going. Default <see cref="OverlapPolicy.Skip"/>.</summary>
    public OverlapPolicy Overlap { get; init; } = OverlapPolicy.Skip;

    /// <summary>What to do with ticks the scheduler got to too late. Default <see cref="MisfirePolicy.RunOnce"/>.</summary>
    public MisfirePolicy Misfire { get; init; } = MisfirePolicy.RunOnce;

    /// <summary>
    /// How late a tick may fire and still count as on time. Default one second. A loop busy for longer
    /// than this (or a suspended process, or a clock jump) turns the ticks it delayed into misfires.
    /// </summary>
    public TimeSpan MisfireThreshold { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>What to do after a run fails or times out. Default <see cref="ErrorPolicy.Continue"/>.</summary>
    public ErrorPolicy OnError { get; init; } = ErrorPolicy.Continue;

    /// <summary>
    /// The longest a run may take: the run's cancel scope gets this deadline, so its Aio awaits throw
    /// <c>CancelledError</c> once it passes, and the run counts as timed out (a failure for <see cref="OnError"/>).
    /// Null (the default): no limit.
    /// </summary>
    public TimeSpan? Timeout { get; init; }

    internal void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(StartDelay, TimeSpan.Zero, nameof(StartDelay));
        ArgumentOutOfRangeException.ThrowIfLessThan(Jitter, TimeSpan.Zero, nameof(Jitter));
        ArgumentOutOfRangeException.ThrowIfLessThan(MisfireThreshold, TimeSpan.Zero, nameof(MisfireThreshold));
        if (MaxRuns is long max)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(max, 1, nameof(MaxRuns));
        }
        if (Timeout is TimeSpan timeout)
        {
            ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(timeout, TimeSpan.Zero, nameof(Timeout));
        }
        ArgumentNullException.ThrowIfNull(Overlap, nameof(Overlap));
        ArgumentNullException.ThrowIfNull(Misfire, nameof(Misfire));
        ArgumentNullException.ThrowIfNull(OnError, nameof(OnError));
    }
}
