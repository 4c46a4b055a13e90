// RedisJobStore: the job store that makes N schedulers (in N processes) run each tick of a job once.
//
// Design note. A tick is a hash `<prefix>{job}:tick:<ms>` (ms = the tick's scheduled wall time): state
// (running, or how the run ended), owner, fencing token, lease expiry. Claiming is one Lua script, so it is
// atomic across clients: a tick that is done, or running under a live lease, is refused; a tick whose lease
// lapsed (its owner died) may be taken over. Every claim raises the job's fencing token (`<prefix>{job}`
// field `fence`), so a stale owner's completion — or any write it passes its token to — is recognised and
// refused. Lease times are the CLAIMER's wall clock (SchedulerOptions.WallClock or the store's clock), so
// they follow virtual time in tests; processes' clocks differ, so a lease counts as live until its expiry
// plus MaxClockSkew on the reader's clock. While a run lasts, a task of the store renews its lease every
// third of the lease. The job hash also remembers the last claimed tick: the next claim that finds it still
// running with a lapsed lease reports it as abandoned (JobLease.AbandonedRuns), which the scheduler handles
// with the job's misfire policy. Completed ticks are kept for Retention (Redis TTL) so that a late or
// skewed scheduler does not run them again.
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using StackExchange.Redis;

namespace Aio.Jobs.Redis;

/// <summary>Settings of a <see cref="RedisJobStore"/>.</summary>
public sealed record RedisJobStoreOptions
{
    /// <summary>The prefix of every key the store writes. Default <c>aio:jobs:</c>. Schedulers that share a schedule use the same prefix.</summary>
    public string KeyPrefix { get; init; } = "aio:jobs:";

    /// <summary>
    /// The largest difference between the wall clocks of the processes sharing the store. A lease counts as live
    /// until its expiry plus this bound, so a process whose clock runs ahead does not take over a tick whose owner
    /// is still running it. Default 2 seconds; keep it well below the lease duration.
    /// </summary>
    public TimeSpan MaxClockSkew { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>How long a completed tick is remembered (so no scheduler runs it again). Default one day; it must exceed the lease duration plus the skew.</summary>
    public TimeSpan Retention { get; init; } = TimeSpan.FromDays(1);

    /// <summary>Renew a lease every third of its duration while the run lasts. Default true.</summary>
    public bool RenewLeases { get; init; } = true;

    /// <summary>The wall clock leases are measured by. Null: the running loop's <see cref="EventLoop.TimeProvider"/> (give the scheduler's wall clock when it has its own).</summary>
    public TimeProvider? Clock { get; init; }

    /// <summary>Where the store logs refused completions and lost leases. Null: the loop's logger.</summary>
    public ILogger? Logger { get; init; }
}

/// <summary>
/// An <see cref="IJobStore"/> on Redis: give one to each <see cref="Scheduler"/> (<see cref="SchedulerOptions.Store"/>) in every
/// process that runs the same schedule, and each tick runs in one of them. Claims are atomic scripts with a lease
/// and a fencing token; leases are renewed while runs last; a run whose owner died is noticed when its lease lapses
/// (<see cref="JobLease.AbandonedRuns"/>). Ticks are identified by job name and scheduled wall time: cron and
/// <c>At</c> ticks are the same in every process; for <c>Every</c> set <see cref="JobOptions.AlignToWallClock"/>.
/// Use it on the loop thread of its scheduler.
/// </summary>
public sealed class RedisJobStore : IJobStore
{
    private const string ClaimScript = """
        local now, lease, skew, retention = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
        local manual = ARGV[6] == '1'
        if not manual then
          local st = redis.call('HMGET', KEYS[2], 'state', 'exp')
          if st[1] then
            if st[1] ~= 'running' then return {0, st[1]} end
            if tonumber(st[2]) + skew > now then return {0, 'held'} end
          end
        end
        local token = redis.call('HINCRBY', KEYS[1], 'fence', 1)
        local abandoned = 0
        local prev = redis.call('HGET', KEYS[1], 'open')
        if prev and prev ~= KEYS[2] then
          local p = redis.call('HMGET', prev, 'state', 'exp')
          if p[1] == 'running' and tonumber(p[2]) + skew <= now then
            redis.call('HSET', prev, 'state', 'abandoned')
            abandoned = 1
          end
        end
        if not manual then
          redis.call('HSET', KEYS[2], 'state', 'running', 'owner', ARGV[1], 'token', token, 'exp', now + lease, 'claimed', now)
          redis.call('PEXPIRE', KEYS[2], retention)
          redis.call('HSET', KEYS[1], 'open', KEYS[2])
        end
        return {1, token, abandoned}
        """;

    private const string RenewScript = """
        local st = redis.call('HMGET', KEYS[1], 'state', 'token')
        if st[1] ~= 'running' or st[2] ~= ARGV[1] then return 0 end
        redis.call('HSET', KEYS[1], 'exp', tonumber(ARGV[2]) + tonumber(ARGV[3]))
        redis.call('PEXPIRE', KEYS[1], ARGV[4])
        return 1
        """;

    private const string CompleteScript = """
        local st = redis.call('HMGET', KEYS[1], 'state', 'token')
        if st[2] ~= ARGV[1] then return 0 end
        if st[1] == ARGV[2] then return 1 end
        if st[1] ~= 'running' then return 0 end
        redis.call('HSET', KEYS[1], 'state', ARGV[2], 'done', ARGV[3])
        redis.call('PEXPIRE', KEYS[1], ARGV[4])
        if redis.call('HGET', KEYS[2], 'open') == KEYS[1] then redis.call('HDEL', KEYS[2], 'open') end
        return 1
        """;

    private readonly IConnectionMultiplexer _redis;
    private readonly Dictionary<JobLease, AioTask> _renewals = new(ReferenceEqualityComparer.Instance);

    /// <summary>Creates a store on <paramref name="redis"/>.</summary>
    public RedisJobStore(IConnectionMultiplexer redis, RedisJobStoreOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(redis);
        _redis = redis;
        Options = options ?? new RedisJobStoreOptions();
        if (Options.MaxClockSkew < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(options), Options.MaxClockSkew, "RedisJobStoreOptions.MaxClockSkew is negative; give zero or a positive bound.");
        }
        if (Options.Retention <= Options.MaxClockSkew)
        {
            throw new ArgumentOutOfRangeException(nameof(options), Options.Retention, "RedisJobStoreOptions.Retention must exceed MaxClockSkew (and every lease); give at least the longest lease plus the skew.");
        }
    }

    /// <summary>The store's options.</summary>
    public RedisJobStoreOptions Options { get; }

    /// <summary>Leases this store is renewing now (runs in progress).</summary>
    public int ActiveLeases => _renewals.Count;

    private TimeProvider Clock => Options.Clock ?? EventLoop.GetRunningLoop().TimeProvider;

    private ILogger Logger => Options.Logger ?? EventLoop.TryGetRunningLoop()?.Logger ?? NullLogger.Instance;

    private RedisKey JobKey(string job) => $"{Options.KeyPrefix}{{{job}}}";

    private RedisKey TickKey(JobTick tick) => $"{Options.KeyPrefix}{{{tick.JobName}}}:tick:{tick.ScheduledAt.ToUnixTimeMilliseconds()}";

    /// <inheritdoc/>
    public async ValueTask<JobLease?> TryClaimAsync(JobTick tick, string owner, TimeSpan leaseDuration, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(owner);
        if (leaseDuration + Options.MaxClockSkew >= Options.Retention)
        {
            throw new ArgumentOutOfRangeException(nameof(leaseDuration), leaseDuration, $"A lease of {leaseDuration} plus the clock-skew bound does not fit in the store's Retention of {Options.Retention}; raise RedisJobStoreOptions.Retention.");
        }
        DateTimeOffset now = Clock.GetUtcNow();
        long nowMs = now.ToUnixTimeMilliseconds();
        RedisResult reply = await RedisAwait.Eval(_redis.GetDatabase(), ClaimScript,
            [JobKey(tick.JobName), TickKey(tick)],
            [owner, nowMs, (long)leaseDuration.TotalMilliseconds, (long)Options.MaxClockSkew.TotalMilliseconds,
             (long)Options.Retention.TotalMilliseconds, tick.IsManual ? "1" : "0"]);
        var parts = (RedisResult[])reply!;
        if ((long)parts[0] == 0)
        {
            return null;
        }
        var lease = new JobLease(tick, owner, DateTimeOffset.FromUnixTimeMilliseconds(nowMs) + leaseDuration)
        {
            FencingToken = (long)parts[1],
            AbandonedRuns = (int)(long)parts[2],
        };
        if (Options.RenewLeases && !tick.IsManual)
        {
            EventLoop loop = EventLoop.GetRunningLoop();
            _renewals[lease] = loop.CreateTask(() => RenewLoopAsync(lease, leaseDuration), $"lease-renewal {tick.JobName}");
        }
        return lease;
    }

    /// <inheritdoc/>
    public async ValueTask CompleteAsync(JobLease lease, JobOutcome outcome, CancellationToken cancellationToken) =>
        await TryCompleteAsync(lease, outcome);

    /// <summary>
    /// Records how the run of <paramref name="lease"/> ended and stops renewing it. Returns false if the lease
    /// was no longer this owner's (it lapsed and another instance took the tick over, whose token is newer):
    /// the outcome is then refused and logged.
    /// </summary>
    public async ValueTask<bool> TryCompleteAsync(JobLease lease, JobOutcome outcome)
    {
        ArgumentNullException.ThrowIfNull(lease);
        if (_renewals.Remove(lease, out AioTask? renewal))
        {
            renewal.Cancel("the run completed");
            await Asyncio.Wait([renewal]);
        }
        if (lease.Tick.IsManual)
        {
            return true;
        }
        RedisResult reply;
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                reply = await RedisAwait.Eval(_redis.GetDatabase(), CompleteScript,
                    [TickKey(lease.Tick), JobKey(lease.Tick.JobName)],
                    [lease.FencingToken, outcome.ToString().ToLowerInvariant(), RedisAwait.Ms(Clock), (long)Options.Retention.TotalMilliseconds]);
                break;
            }
            catch (Exception e) when (e is RedisConnectionException or RedisTimeoutException && attempt < 3)
            {
                // Redis restarting: a completion that never arrives would leave the tick looking abandoned.
                await Asyncio.Sleep(0.2 * attempt);
            }
        }
        bool accepted = (long)reply == 1;
        if (!accepted)
        {
            RedisLog.CompletionRefused(Logger, lease.Tick.JobName, lease.Tick.ScheduledAt, lease.FencingToken, lease.Owner);
        }
        return accepted;
    }

    /// <summary>Extends <paramref name="lease"/> by its duration from now. Returns false if it is no longer this owner's (completed, or taken over after it lapsed).</summary>
    public async ValueTask<bool> RenewAsync(JobLease lease, TimeSpan leaseDuration)
    {
        ArgumentNullException.ThrowIfNull(lease);
        RedisResult reply = await RedisAwait.Eval(_redis.GetDatabase(), RenewScript,
            [TickKey(lease.Tick)],
            [lease.FencingToken, RedisAwait.Ms(Clock), (long)leaseDuration.TotalMilliseconds, (long)Options.Retention.TotalMilliseconds]);
        return (long)reply == 1;
    }

    /// <summary>The state of a tick in the store (<c>running</c>, <c>abandoned</c>, an outcome such as <c>succeeded</c>), or null if it is unknown or expired.</summary>
    public async Task<string?> GetTickStateAsync(string jobName, DateTimeOffset scheduledAt)
    {
        RedisValue state = await RedisAwait.Call(_redis.GetDatabase().HashGetAsync(TickKey(new JobTick(jobName, scheduledAt, false)), "state"));
        return state.IsNull ? null : state.ToString();
    }

    private async Task RenewLoopAsync(JobLease lease, TimeSpan leaseDuration)
    {
        double every = leaseDuration.TotalSeconds / 3;
        while (true)
        {
            await Asyncio.Sleep(every);
            bool held;
            try
            {
                held = await RenewAsync(lease, leaseDuration);
            }
            catch (Exception e) when (e is RedisException or TimeoutException)
            {
                RedisLog.RenewalFailed(Logger, e, lease.Tick.JobName, lease.Tick.ScheduledAt);
                continue;   // the next attempt may reach Redis again before the lease lapses
            }
            if (!held)
            {
                RedisLog.LeaseLost(Logger, lease.Tick.JobName, lease.Tick.ScheduledAt, lease.FencingToken);
                return;
            }
        }
    }

    /// <inheritdoc/>
    public override string ToString() => $"<RedisJobStore prefix='{Options.KeyPrefix}' leases={_renewals.Count}>";
}
