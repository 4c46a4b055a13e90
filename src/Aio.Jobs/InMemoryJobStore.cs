namespace Aio.Jobs;

/// <summary>
/// The default <see cref="IJobStore"/>: claims held in a dictionary of this process. A tick can be claimed
/// again only after its claim completed or lapsed; completed ticks are not remembered (one scheduler never
/// fires a tick twice). Shared by several schedulers of one process, it keeps them from running the same
/// tick of a job of the same name. Not thread-safe: use it from one loop.
/// </summary>
public sealed class InMemoryJobStore : IJobStore
{
    private readonly Dictionary<(string Job, DateTimeOffset At), JobLease> _claims = [];
    private readonly TimeProvider _clock;

    /// <summary>Creates a store whose leases expire by <paramref name="clock"/> (default the system clock).</summary>
    public InMemoryJobStore(TimeProvider? clock = null) => _clock = clock ?? TimeProvider.System;

    /// <summary>Claims held now (completed claims are gone).</summary>
    public int ActiveClaims => _claims.Count;

    /// <inheritdoc/>
    public ValueTask<JobLease?> TryClaimAsync(JobTick tick, string owner, TimeSpan leaseDuration, CancellationToken cancellationToken)
    {
        DateTimeOffset now = _clock.GetUtcNow();
        var key = (tick.JobName, tick.ScheduledAt);
        if (!tick.IsManual && _claims.TryGetValue(key, out JobLease? held) && held.ExpiresAt > now)
        {
            return ValueTask.FromResult<JobLease?>(null);
        }
        var lease = new JobLease(tick, owner, now + leaseDuration);
        if (!tick.IsManual)
        {
            _claims[key] = lease;
        }
        return ValueTask.FromResult<JobLease?>(lease);
    }

    /// <inheritdoc/>
    public ValueTask CompleteAsync(JobLease lease, JobOutcome outcome, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(lease);
        var key = (lease.Tick.JobName, lease.Tick.ScheduledAt);
        if (_claims.TryGetValue(key, out JobLease? held) && ReferenceEquals(held, lease))
        {
            _claims.Remove(key);
        }
        return ValueTask.CompletedTask;
    }
}
