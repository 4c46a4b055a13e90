namespace Aio.Jobs;

/// <summary>What a job does when its next tick comes while a run of it is still going.</summary>
public enum OverlapKind
{
    /// <summary>Drop the tick (counted in <see cref="JobStatistics.Skipped"/>).</summary>
    Skip,

    /// <summary>Hold the tick and run it when the current run ends, up to a bound; a tick beyond the bound is dropped.</summary>
    Queue,

    /// <summary>Cancel the runs in progress and start the new one at once.</summary>
    CancelPrevious,

    /// <summary>Start the new run alongside, up to a number of concurrent runs; a tick beyond it is dropped.</summary>
    AllowConcurrent,
}

/// <summary>
/// What a job does when its next tick comes while a run of it is still going. The default is
/// <see cref="Skip"/>: a slow run never piles up work behind it.
/// </summary>
public sealed record OverlapPolicy
{
    private OverlapPolicy(OverlapKind kind, int limit)
    {
        Kind = kind;
        Limit = limit;
    }

    /// <summary>The kind of policy.</summary>
    public OverlapKind Kind { get; }

    /// <summary>For <see cref="OverlapKind.Queue"/> the most ticks held; for <see cref="OverlapKind.AllowConcurrent"/> the most runs at once; 1 otherwise.</summary>
    public int Limit { get; }

    /// <summary>Drop a tick that comes while a run is going (Tornado's and Quartz's <c>DisallowConcurrentExecution</c> behaviour).</summary>
    public static OverlapPolicy Skip { get; } = new(OverlapKind.Skip, 1);

    /// <summary>Cancel the runs in progress (their scopes get <c>CancelledError</c>) and start the new run at once.</summary>
    public static OverlapPolicy CancelPrevious { get; } = new(OverlapKind.CancelPrevious, 1);

    /// <summary>Hold up to <paramref name="maxQueued"/> ticks and run them one after another as runs end.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxQueued"/> is less than 1.</exception>
    public static OverlapPolicy Queue(int maxQueued)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxQueued, 1);
        return new(OverlapKind.Queue, maxQueued);
    }

    /// <summary>Let up to <paramref name="maxConcurrent"/> runs go at once; a tick beyond that is dropped.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxConcurrent"/> is less than 1.</exception>
    public static OverlapPolicy AllowConcurrent(int maxConcurrent)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxConcurrent, 1);
        return new(OverlapKind.AllowConcurrent, maxConcurrent);
    }

    /// <inheritdoc/>
    public override string ToString() => Kind switch
    {
        OverlapKind.Queue or OverlapKind.AllowConcurrent => $"{Kind}({Limit})",
        _ => Kind.ToString(),
    };
}

/// <summary>What a job does with ticks it missed (the loop was blocked, the process suspended, the clock jumped).</summary>
public enum MisfireKind
{
    /// <summary>Drop the missed ticks and go on with the next one on time (Tornado's <c>PeriodicCallback</c>).</summary>
    Skip,

    /// <summary>Run once now for all the missed ticks (Celery beat, Quartz's "fire once now").</summary>
    RunOnce,

    /// <summary>Run every missed tick now, in order, up to a bound (the most recent ones are kept).</summary>
    CatchUp,
}

/// <summary>
/// What a job does with ticks it missed: a tick is missed when the scheduler gets to it more than
/// <see cref="JobOptions.MisfireThreshold"/> after its time. The default is <see cref="RunOnce"/>.
/// </summary>
public sealed record MisfirePolicy
{
    private MisfirePolicy(MisfireKind kind, int limit)
    {
        Kind = kind;
        Limit = limit;
    }

    /// <summary>The kind of policy.</summary>
    public MisfireKind Kind { get; }

    /// <summary>For <see cref="MisfireKind.CatchUp"/> the most missed ticks run; 1 for <see cref="MisfireKind.RunOnce"/>; 0 for <see cref="MisfireKind.Skip"/>.</summary>
    public int Limit { get; }

    /// <summary>Drop the missed ticks; the next run is the next tick on time.</summary>
    public static MisfirePolicy Skip { get; } = new(MisfireKind.Skip, 0);

    /// <summary>Run once now for all the missed ticks (<see cref="JobContext.MissedTicks"/> says how many were folded into it).</summary>
    public static MisfirePolicy RunOnce { get; } = new(MisfireKind.RunOnce, 1);

    /// <summary>Run each missed tick now, oldest first, at most <paramref name="maxRuns"/> of them (the most recent); the rest are dropped.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxRuns"/> is less than 1.</exception>
    public static MisfirePolicy CatchUp(int maxRuns)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxRuns, 1);
        return new(MisfireKind.CatchUp, maxRuns);
    }

    /// <inheritdoc/>
    public override string ToString() => Kind == MisfireKind.CatchUp ? $"CatchUp({Limit})" : Kind.ToString();
}

/// <summary>What a job does after a run fails (throws, or exceeds <see cref="JobOptions.Timeout"/>).</summary>
public enum ErrorKind
{
    /// <summary>Log the failure and keep the schedule.</summary>
    Continue,

    /// <summary>Log the failure and stop the job (<see cref="JobState.Faulted"/>).</summary>
    Stop,

    /// <summary>Retry after a delay that grows after each consecutive failure, up to a cap; the schedule resumes after a success.</summary>
    Backoff,
}

/// <summary>
/// What a job does after a run fails (throws an exception, or runs past <see cref="JobOptions.Timeout"/>).
/// A cancelled run (the scheduler stopped, or <see cref="OverlapPolicy.CancelPrevious"/>) is not a failure.
/// The default is <see cref="Continue"/>.
/// </summary>
public sealed record ErrorPolicy
{
    private ErrorPolicy(ErrorKind kind, TimeSpan initial, double factor, TimeSpan cap)
    {
        Kind = kind;
        InitialDelay = initial;
        Factor = factor;
        MaxDelay = cap;
    }

    /// <summary>The kind of policy.</summary>
    public ErrorKind Kind { get; }

    /// <summary>For <see cref="ErrorKind.Backoff"/>: the delay after the first failure.</summary>
    public TimeSpan InitialDelay { get; }

    /// <summary>For <see cref="ErrorKind.Backoff"/>: what each further consecutive failure multiplies the delay by.</summary>
    public double Factor { get; }

    /// <summary>For <see cref="ErrorKind.Backoff"/>: the longest delay.</summary>
    public TimeSpan MaxDelay { get; }

    /// <summary>Log the failure and keep the schedule.</summary>
    public static ErrorPolicy Continue { get; } = new(ErrorKind.Continue, TimeSpan.Zero, 1, TimeSpan.Zero);

    /// <summary>Log the failure and stop the job: no more ticks; <see cref="Job.State"/> becomes <see cref="JobState.Faulted"/>.</summary>
    public static ErrorPolicy Stop { get; } = new(ErrorKind.Stop, TimeSpan.Zero, 1, TimeSpan.Zero);

    /// <summary>
    /// After the n-th consecutive failure, run again <c>min(initialDelay × factor^(n−1), maxDelay)</c> after the
    /// failed run ended, instead of at the next tick; ticks in between are dropped. After a success the
    /// job goes back to its schedule.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A delay is not positive, <paramref name="factor"/> is less than 1, or <paramref name="maxDelay"/> is less than <paramref name="initialDelay"/>.</exception>
    public static ErrorPolicy Backoff(TimeSpan initialDelay, double factor, TimeSpan maxDelay)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(initialDelay, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(factor, 1.0);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxDelay, initialDelay);
        return new(ErrorKind.Backoff, initialDelay, factor, maxDelay);
    }

    /// <summary>The delay before the retry that follows <paramref name="consecutiveFailures"/> failures in a row (Backoff only).</summary>
    internal double DelaySeconds(int consecutiveFailures)
    {
        double delay = InitialDelay.TotalSeconds * Math.Pow(Factor, Math.Max(0, consecutiveFailures - 1));
        return Math.Min(delay, MaxDelay.TotalSeconds);
    }

    /// <inheritdoc/>
    public override string ToString() => Kind == ErrorKind.Backoff ? $"Backoff({InitialDelay}, x{Factor}, max {MaxDelay})" : Kind.ToString();
}
