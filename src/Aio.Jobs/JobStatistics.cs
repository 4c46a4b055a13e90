namespace Aio.Jobs;

/// <summary>The lifecycle state of a <see cref="Job"/>.</summary>
public enum JobState
{
    /// <summary>Added; waiting for its next tick (or for the scheduler to start).</summary>
    Scheduled,

    /// <summary>Paused: no ticks fire until <see cref="Job.Resume"/>; runs in progress go on.</summary>
    Paused,

    /// <summary>No more ticks: the trigger ended, <see cref="JobOptions.MaxRuns"/> was reached, or the scheduler stopped.</summary>
    Completed,

    /// <summary>Stopped by <see cref="ErrorPolicy.Stop"/> after a failed run.</summary>
    Faulted,

    /// <summary>Removed from its scheduler.</summary>
    Removed,
}

/// <summary>How a run ended.</summary>
public enum JobOutcome
{
    /// <summary>No run has ended yet.</summary>
    None,

    /// <summary>The run returned.</summary>
    Succeeded,

    /// <summary>The run threw an exception.</summary>
    Failed,

    /// <summary>The run went past <see cref="JobOptions.Timeout"/> and was cancelled.</summary>
    TimedOut,

    /// <summary>The run was cancelled: the scheduler stopped it, or <see cref="OverlapPolicy.CancelPrevious"/> superseded it.</summary>
    Cancelled,

    /// <summary>The store refused the claim on the tick (another instance ran it); the body did not run.</summary>
    NotClaimed,
}

/// <summary>A snapshot of a job's run statistics.</summary>
/// <param name="Started">Runs started.</param>
/// <param name="Succeeded">Runs that returned.</param>
/// <param name="Failed">Runs that threw.</param>
/// <param name="TimedOut">Runs cancelled by their timeout.</param>
/// <param name="Cancelled">Runs cancelled by a stop or a newer run.</param>
/// <param name="Skipped">Ticks dropped by the overlap policy, a full queue, a refused claim, or a backoff.</param>
/// <param name="Misfired">Ticks found missed (the misfire policy then skipped them, folded them into one run, or ran them).</param>
/// <param name="LastDuration">How long the last finished run took (loop time).</param>
/// <param name="MeanDuration">The mean duration of the finished runs.</param>
/// <param name="MaxDuration">The longest finished run.</param>
public readonly record struct JobStatistics(
    long Started,
    long Succeeded,
    long Failed,
    long TimedOut,
    long Cancelled,
    long Skipped,
    long Misfired,
    TimeSpan LastDuration,
    TimeSpan MeanDuration,
    TimeSpan MaxDuration)
{
    /// <summary>Runs that ended (succeeded, failed, timed out or cancelled).</summary>
    public long Finished => Succeeded + Failed + TimedOut + Cancelled;

    /// <summary>Failed and timed-out runs.</summary>
    public long Failures => Failed + TimedOut;
}
