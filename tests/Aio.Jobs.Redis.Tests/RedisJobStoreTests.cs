namespace Aio.Jobs.Redis.Tests;

/// <summary>The Redis job store: ticks run once across schedulers, leases, fencing tokens, clock skew, abandoned runs.</summary>
public sealed class RedisJobStoreTests(RedisFixture redis) : IClassFixture<RedisFixture>
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);

    private static double Now => EventLoop.GetRunningLoop().Time();

    private RedisJobStore Store(string prefix, TimeProvider clock, double skew = 2, bool renew = true) =>
        new(redis.Redis, new RedisJobStoreOptions { KeyPrefix = prefix, Clock = clock, MaxClockSkew = TimeSpan.FromSeconds(skew), RenewLeases = renew });

    private Scheduler NewScheduler(string prefix, TimeProvider clock, string id, double lease = 60) =>
        new(new SchedulerOptions { WallClock = clock, Store = Store(prefix, clock), InstanceId = id, LeaseDuration = TimeSpan.FromSeconds(lease) });

    private static async Task RunAll(Scheduler[] schedulers, double seconds)
    {
        AioTask[] drivers = [.. schedulers.Select(s => CreateTask(() => s.RunAsync(), "scheduler"))];
        await Sleep(seconds);
        foreach (Scheduler s in schedulers)
        {
            await s.StopAsync(TimeSpan.Zero);
        }
        await Gather(drivers);
    }

    [Fact]
    public void Cron_ThreeSchedulersWithSkewedClocks_EachTickRunsOnce()
    {
        string prefix = RedisFixture.Prefix();
        var runs = new List<string>();
        long notClaimed = 0;
        TestLoop.Run(async () =>
        {
            EventLoop loop = EventLoop.GetRunningLoop();
            double[] skews = [-1.5, 0, 1.5];
            Scheduler[] schedulers = [.. skews.Select((skew, i) =>
                NewScheduler(prefix, new LoopWallClock(loop, T0 + TimeSpan.FromSeconds(0.3 + skew)), $"s{i}"))];
            foreach (Scheduler s in schedulers)
            {
                s.Cron("*/5 * * * * *", async ctx =>
                {
                    runs.Add($"{ctx.ScheduledAt:HH:mm:ss} by {s.Options.InstanceId}");
                    await Sleep(2);   // still running when the other schedulers reach the tick
                }, "report");
            }
            await RunAll(schedulers, 31);
            notClaimed = schedulers.Sum(s => s.Jobs[0].Statistics.Skipped);
        });
        Assert.Equal(
        [
            "12:00:00 by s0",               // only s0, 1.5 s behind, starts before 12:00:00
            "12:00:05 by s2", "12:00:10 by s2", "12:00:15 by s2", "12:00:20 by s2", "12:00:25 by s2", "12:00:30 by s2",
        ], runs);
        Assert.Equal(11, notClaimed);   // s1 reached 6 ticks, s0 (1.5 s behind) 5; every one was taken
    }

    [Fact]
    public void Every_AlignToWallClock_SchedulersStartedApart_EachTickRunsOnce()
    {
        string prefix = RedisFixture.Prefix();
        var ticks = new List<string>();
        TestLoop.Run(async () =>
        {
            EventLoop loop = EventLoop.GetRunningLoop();
            var clock = new LoopWallClock(loop, T0 + TimeSpan.FromSeconds(0.5));
            var drivers = new List<AioTask>();
            var schedulers = new List<Scheduler>();
            foreach (double start in new[] { 0, 3.3, 7.1 })
            {
                await Sleep(start - Now);
                Scheduler s = NewScheduler(prefix, clock, $"s{schedulers.Count}");
                s.Every(TimeSpan.FromSeconds(10), ctx =>
                {
                    ticks.Add($"{ctx.ScheduledAt:HH:mm:ss.f}");
                    return Task.CompletedTask;
                }, "poll", new JobOptions { AlignToWallClock = true });
                schedulers.Add(s);
                drivers.Add(CreateTask(() => s.RunAsync(), "scheduler"));
            }
            await Sleep(45 - Now);
            foreach (Scheduler s in schedulers)
            {
                await s.StopAsync(TimeSpan.Zero);
            }
            await Gather([.. drivers]);
        });
        Assert.Equal(["12:00:10.0", "12:00:20.0", "12:00:30.0", "12:00:40.0"], ticks);
    }

    [Fact]
    public void TryClaim_LeaseWithinSkewBound_IsRefused_LapsedLeaseTakenOver_StaleCompletionRefused()
    {
        string prefix = RedisFixture.Prefix();
        var events = new List<string>();
        TestLoop.Run(async () =>
        {
            EventLoop loop = EventLoop.GetRunningLoop();
            RedisJobStore a = Store(prefix, new LoopWallClock(loop, T0), skew: 5, renew: false);
            RedisJobStore b = Store(prefix, new LoopWallClock(loop, T0 + TimeSpan.FromSeconds(12)), skew: 5, renew: false);   // 12 s ahead
            RedisJobStore c = Store(prefix, new LoopWallClock(loop, T0 + TimeSpan.FromSeconds(16)), skew: 5, renew: false);   // 16 s ahead
            var tick = new JobTick("report", T0, IsManual: false);
            TimeSpan lease = TimeSpan.FromSeconds(10);

            JobLease? la = await a.TryClaimAsync(tick, "A", lease, default);
            events.Add($"A claims: token {la?.FencingToken}");
            JobLease? lb = await b.TryClaimAsync(tick, "B", lease, default);
            events.Add($"B claims: {(lb is null ? "refused" : "granted")}");
            JobLease? lc = await c.TryClaimAsync(tick, "C", lease, default);
            events.Add($"C claims: token {lc?.FencingToken}");
            events.Add($"A completes: {await a.TryCompleteAsync(la!, JobOutcome.Succeeded)}");
            events.Add($"C completes: {await c.TryCompleteAsync(lc!, JobOutcome.Succeeded)}");
            JobLease? again = await c.TryClaimAsync(tick, "C", lease, default);
            events.Add($"C claims again: {(again is null ? "refused" : "granted")}");
            events.Add($"state: {await a.GetTickStateAsync("report", T0)}");
        });
        Assert.Equal(
        [
            "A claims: token 1",
            "B claims: refused",            // 12 s ahead sees the lease (10 s) lapsed, but not beyond the 5 s skew bound
            "C claims: token 2",            // 16 s ahead: lapsed beyond the bound; taken over with a newer token
            "A completes: False",           // the stale owner's completion is refused by its fencing token
            "C completes: True",
            "C claims again: refused",      // done ticks are never run again
            "state: succeeded",
        ], events);
    }

    [Theory]
    [InlineData(true, "B at 5: refused|B at 10: refused|A completes: True")]
    [InlineData(false, "B at 5: granted|B at 10: granted|A completes: False")]   // B's own 3 s lease lapsed too
    public void RenewLeases_LongRun_KeepsTheTick(bool renew, string expected)
    {
        string prefix = RedisFixture.Prefix();
        var events = new List<string>();
        TestLoop.Run(async () =>
        {
            var clock = new LoopWallClock(EventLoop.GetRunningLoop(), T0);
            RedisJobStore a = Store(prefix, clock, skew: 0.5, renew: renew);
            RedisJobStore b = Store(prefix, clock, skew: 0.5, renew: false);
            var tick = new JobTick("long", T0, IsManual: false);
            JobLease? la = await a.TryClaimAsync(tick, "A", TimeSpan.FromSeconds(3), default);
            await Sleep(5);
            JobLease? lb = await b.TryClaimAsync(tick, "B", TimeSpan.FromSeconds(3), default);
            events.Add($"B at 5: {(lb is null ? "refused" : "granted")}");
            await Sleep(5);
            JobLease? lb2 = await b.TryClaimAsync(tick, "B", TimeSpan.FromSeconds(30), default);
            events.Add($"B at 10: {(lb2 is null ? "refused" : "granted")}");
            events.Add($"A completes: {await a.TryCompleteAsync(la!, JobOutcome.Succeeded)}");
            Assert.Equal(0, a.ActiveLeases);
        });
        Assert.Equal(expected.Split('|'), events);
    }

    [Theory]
    [InlineData("RunOnce", "12:00:20 missed=1|12:00:30 missed=0", 1)]
    [InlineData("Skip", "12:00:20 missed=0|12:00:30 missed=0", 1)]
    public void AbandonedRun_NextClaimReportsIt_MisfirePolicyDecides(string policy, string expected, long misfired)
    {
        string prefix = RedisFixture.Prefix();
        var runs = new List<string>();
        string? abandonedState = null;
        long misfiredSeen = -1;
        TestLoop.Run(async () =>
        {
            EventLoop loop = EventLoop.GetRunningLoop();
            var clock = new LoopWallClock(loop, T0 + TimeSpan.FromSeconds(5));
            // A ghost instance claims the 12:00:10 tick a second early and dies: no renewal, no completion.
            RedisJobStore ghost = Store(prefix, clock, renew: false);
            Scheduler s = NewScheduler(prefix, clock, "live", lease: 3);
            s.Cron("*/10 * * * * *", ctx =>
            {
                runs.Add($"{ctx.ScheduledAt:HH:mm:ss} missed={ctx.MissedTicks}");
                return Task.CompletedTask;
            }, "sweep", options: new JobOptions { Misfire = policy == "Skip" ? MisfirePolicy.Skip : MisfirePolicy.RunOnce });
            AioTask driver = CreateTask(() => s.RunAsync(), "scheduler");
            await Sleep(4);
            Assert.NotNull(await ghost.TryClaimAsync(new JobTick("sweep", T0 + TimeSpan.FromSeconds(10), false), "ghost", TimeSpan.FromSeconds(3), default));
            await Sleep(27);
            await s.StopAsync(TimeSpan.Zero);
            await driver;
            abandonedState = await ghost.GetTickStateAsync("sweep", T0 + TimeSpan.FromSeconds(10));
            misfiredSeen = s.Jobs[0].Statistics.Misfired;
        });
        Assert.Equal(expected.Split('|'), runs);
        Assert.Equal("abandoned", abandonedState);
        Assert.Equal(misfired, misfiredSeen);
    }
}
