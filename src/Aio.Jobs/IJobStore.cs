namespace Aio.Jobs;

/// <summary>A tick a run wants to claim: the job's name and the tick's scheduled wall-clock time.</summary>
/// <param name="JobName">The job's name (unique in its scheduler; the same name in every process that shares a store).</param>
/// <param name="ScheduledAt">The tick's wall-clock time: a cron occurrence, or a fixed-rate tick's time.</param>
/// <param name="IsManual">The run was started by <see cref="Job.TriggerNow"/>, not by the schedule.</param>
public readonly record struct JobTick(string JobName, DateTimeOffset ScheduledAt, bool IsManual);

/// <summary>A store's claim on a tick: who holds it and until when.</summary>
/// <param name="Tick">The claimed tick.</param>
/// <param name="Owner">The claiming scheduler (<see cref="SchedulerOptions.InstanceId"/>).</param>
/// <param name="ExpiresAt">When the claim lapses if it is not completed (the owner died): another instance may then claim the tick.</param>
public sealed record JobLease(JobTick Tick, string Owner, DateTimeOffset ExpiresAt)
{
    /// <summary>
    /// A number the store raises with every claim of the job's ticks (0 from a store that keeps none). A run
    /// that writes somewhere else can pass it along so that a stale owner's late write (its lease lapsed and
    /// another instance took the tick over) is recognised by its smaller token and refused.
    /// </summary>
    public long FencingToken { get; init; }

    /// <summary>
    /// Earlier runs of this job whose owner vanished: claimed, never completed, their lease lapsed (a shared
    /// store notices them at the next claim). The scheduler treats them as missed ticks: under
    /// <see cref="MisfirePolicy.Skip"/> they are dropped, otherwise this run stands in for them
    /// (<see cref="JobContext.MissedTicks"/>).
    /// </summary>
    public int AbandonedRuns { get; init; }
}

/// <summary>
/// Where runs claim their ticks, so that a tick runs once even when several schedulers share a schedule.
/// The protocol is two calls per run: before the job's body runs, <see cref="TryClaimAsync"/> claims the
/// tick for a lease (null: someone else has it, the body does not run); after the body ends,
/// <see cref="CompleteAsync"/> records the outcome and releases the claim. A store must make the claim
/// atomic across its clients (a Redis <c>SET NX PX</c>, say) and should remember completed ticks for at
/// least a schedule's period so that a late instance does not run them again.
/// The scheduler calls both on its loop thread; a store that completes synchronously costs no extra loop iteration.
/// </summary>
public interface IJobStore
{
    /// <summary>Claims <paramref name="tick"/> for <paramref name="owner"/> for <paramref name="leaseDuration"/>; returns the lease, or null if the tick is taken or done.</summary>
    ValueTask<JobLease?> TryClaimAsync(JobTick tick, string owner, TimeSpan leaseDuration, CancellationToken cancellationToken);

    /// <summary>Records how the run of a claimed tick ended and releases the claim.</summary>
    ValueTask CompleteAsync(JobLease lease, JobOutcome outcome, CancellationToken cancellationToken);
}
