namespace Aio.Jobs;

/// <summary>What a run knows about itself: which job, which tick, which attempt. One per run.</summary>
public sealed class JobContext
{
    internal JobContext(Job job, long runNumber, in Tick tick, double fireTime, int missedTicks, bool manual, int attempt)
    {
        Job = job;
        RunNumber = runNumber;
        ScheduledTime = tick.Due;
        ScheduledAt = tick.At;
        FireTime = fireTime;
        MissedTicks = missedTicks;
        IsManual = manual;
        Attempt = attempt;
    }

    /// <summary>The job this run belongs to.</summary>
    public Job Job { get; }

    /// <summary>The job's name.</summary>
    public string Name => Job.Name;

    /// <summary>1 for the job's first run, 2 for the second, … (manual runs included).</summary>
    public long RunNumber { get; }

    /// <summary>The loop time the tick was scheduled for, before jitter (<see cref="EventLoop.Time"/>).</summary>
    public double ScheduledTime { get; }

    /// <summary>The wall-clock time the tick was scheduled for (a cron occurrence, exactly).</summary>
    public DateTimeOffset ScheduledAt { get; }

    /// <summary>The loop time the scheduler started this run (the tick's time plus jitter and any lateness).</summary>
    public double FireTime { get; }

    /// <summary>Under <see cref="MisfirePolicy.RunOnce"/>: how many missed ticks this run stands in for besides its own; 0 otherwise.</summary>
    /// <remarks>It also counts earlier runs the store reports as abandoned by a vanished owner (<see cref="JobLease.AbandonedRuns"/>), unless the policy is <see cref="MisfirePolicy.Skip"/>.</remarks>
    public int MissedTicks { get; internal set; }

    /// <summary>True for a run started by <see cref="Job.TriggerNow"/>.</summary>
    public bool IsManual { get; }

    /// <summary>Under <see cref="ErrorPolicy.Backoff"/>: how many runs in a row failed before this one (0 for a run on schedule).</summary>
    public int Attempt { get; }

    /// <summary>The run's cancellation token: cancelled when its timeout passes, the scheduler stops it, or a newer run supersedes it. Pass it to foreign APIs (<c>HttpClient</c>).</summary>
    public CancellationToken CancellationToken { get; internal set; }

    /// <summary>The store's claim on this tick.</summary>
    public JobLease? Lease { get; internal set; }

    /// <inheritdoc/>
    public override string ToString() => $"<JobContext '{Name}' run={RunNumber} scheduled={ScheduledTime:0.###}{(IsManual ? " manual" : "")}>";
}
