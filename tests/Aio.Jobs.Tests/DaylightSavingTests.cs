using static Aio.Jobs.Tests.JobTestKit;

namespace Aio.Jobs.Tests;

/// <summary>
/// Cron across daylight-saving transitions in two time zones, on a virtual wall clock started just before
/// each transition. Cronos's rules: an occurrence in the spring-forward gap fires when the gap ends; in the
/// autumn overlap, an expression with an interval in its second, minute or hour field fires in both halves,
/// any other once (in the first half).
/// </summary>
public sealed class DaylightSavingTests
{
    private static readonly TimeZoneInfo Berlin = TimeZoneInfo.FindSystemTimeZoneById("Europe/Berlin");
    private static readonly TimeZoneInfo NewYork = TimeZoneInfo.FindSystemTimeZoneById("America/New_York");

    private static List<string> Fires(string expression, TimeZoneInfo zone, DateTimeOffset start, double seconds) => AioTest.Run(async () =>
    {
        var fires = new List<string>();
        var clock = new LoopWallClock(EventLoop.GetRunningLoop(), start);
        var jobs = new Scheduler(new SchedulerOptions { WallClock = clock });
        jobs.Cron(expression, ctx =>
        {
            Assert.Equal(ctx.ScheduledAt, clock.GetUtcNow());   // fired exactly at the occurrence
            fires.Add($"{TimeZoneInfo.ConvertTime(ctx.ScheduledAt, zone):MM-dd HH:mm zzz} = {ctx.ScheduledAt.UtcDateTime:HH:mm}Z");
            return Task.CompletedTask;
        }, "dst", zone);
        await RunFor(jobs, seconds);
        return fires;
    });

    [Fact]
    public void Cron_BerlinSpringForward_OccurrenceInTheGapFiresWhenTheGapEnds()
    {
        // 2026-03-29 02:00 CET becomes 03:00 CEST: 02:30 does not exist that day.
        List<string> fires = Fires("30 2 * * *", Berlin, new DateTimeOffset(2026, 3, 28, 0, 0, 0, TimeSpan.Zero), 3 * 86400);
        Assert.Equal(["03-28 02:30 +01:00 = 01:30Z", "03-29 03:00 +02:00 = 01:00Z", "03-30 02:30 +02:00 = 00:30Z"], fires);
    }

    [Fact]
    public void Cron_BerlinFallBack_FixedTimeFiresOnceIntervalFiresInBothHalves()
    {
        // 2026-10-25 03:00 CEST becomes 02:00 CET: 02:00-02:59 happens twice.
        var start = new DateTimeOffset(2026, 10, 24, 23, 0, 0, TimeSpan.Zero);   // 01:00 CEST
        Assert.Equal(["10-25 02:30 +02:00 = 00:30Z"], Fires("30 2 * * *", Berlin, start, 4 * 3600));
        Assert.Equal(
            ["10-25 02:00 +02:00 = 00:00Z", "10-25 02:30 +02:00 = 00:30Z", "10-25 02:00 +01:00 = 01:00Z", "10-25 02:30 +01:00 = 01:30Z"],
            Fires("*/30 2 * * *", Berlin, start, 4 * 3600));
    }

    [Fact]
    public void Cron_NewYorkSpringForward_HourlyHasNoTwoOClockAndFixedTimeMovesToThree()
    {
        // 2026-03-08 02:00 EST becomes 03:00 EDT.
        var start = new DateTimeOffset(2026, 3, 8, 5, 30, 0, TimeSpan.Zero);   // 00:30 EST
        Assert.Equal(
            ["03-08 01:00 -05:00 = 06:00Z", "03-08 03:00 -04:00 = 07:00Z", "03-08 04:00 -04:00 = 08:00Z"],
            Fires("0 0 * * * *", NewYork, start, 3 * 3600));
        Assert.Equal(["03-08 03:00 -04:00 = 07:00Z"], Fires("0 30 2 * * *", NewYork, start, 3 * 3600));
    }

    [Fact]
    public void Cron_NewYorkFallBack_HourlyFiresTwiceAtOneFixedTimeOnce()
    {
        // 2026-11-01 02:00 EDT becomes 01:00 EST: 01:00-01:59 happens twice.
        var start = new DateTimeOffset(2026, 11, 1, 3, 30, 0, TimeSpan.Zero);   // 23:30 EDT the day before
        Assert.Equal(
            ["11-01 00:00 -04:00 = 04:00Z", "11-01 01:00 -04:00 = 05:00Z", "11-01 01:00 -05:00 = 06:00Z", "11-01 02:00 -05:00 = 07:00Z"],
            Fires("0 * * * *", NewYork, start, 4 * 3600));
        Assert.Equal(["11-01 01:30 -04:00 = 05:30Z"], Fires("30 1 * * *", NewYork, start, 4 * 3600));
    }
}
