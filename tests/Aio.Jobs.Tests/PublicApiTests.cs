using System.Reflection;

namespace Aio.Jobs.Tests;

/// <summary>The package's public surface, listed: a change to it shows up here and is deliberate.</summary>
public sealed class PublicApiTests
{
    [Fact]
    public void PublicTypes_AreTheDocumentedSet()
    {
        string[] types = typeof(Scheduler).Assembly.GetExportedTypes()
            .Select(t => t.FullName!)
            .Order(StringComparer.Ordinal)
            .ToArray();
        Assert.Equal(
            [
                "Aio.Jobs.ErrorKind", "Aio.Jobs.ErrorPolicy", "Aio.Jobs.IJobStore", "Aio.Jobs.InMemoryJobStore", "Aio.Jobs.Job",
                "Aio.Jobs.JobContext", "Aio.Jobs.JobLease", "Aio.Jobs.JobOptions", "Aio.Jobs.JobOutcome", "Aio.Jobs.JobState",
                "Aio.Jobs.JobStatistics", "Aio.Jobs.JobTick", "Aio.Jobs.LoopWallClock", "Aio.Jobs.MisfireKind", "Aio.Jobs.MisfirePolicy",
                "Aio.Jobs.OverlapKind", "Aio.Jobs.OverlapPolicy", "Aio.Jobs.Scheduler", "Aio.Jobs.SchedulerOptions", "Aio.Jobs.SchedulerState",
            ],
            types);
    }

    [Fact]
    public void Scheduler_PublicMethods_AreTheDocumentedSet()
    {
        string[] methods = typeof(Scheduler).GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.DeclaredOnly)
            .Where(m => !m.IsSpecialName)
            .Select(m => m.Name)
            .Distinct()
            .Order(StringComparer.Ordinal)
            .ToArray();
        Assert.Equal(["At", "Cron", "DisposeAsync", "Every", "EveryAfter", "Find", "Once", "RunAsync", "Stop", "StopAsync", "ToString", "WaitStoppedAsync"], methods);
    }

    [Fact]
    public void Policies_ToString_NameTheirParameters()
    {
        Assert.Equal(
            ["Skip", "Queue(3)", "CancelPrevious", "AllowConcurrent(2)", "RunOnce", "Skip", "CatchUp(5)", "Continue", "Stop", "Backoff(00:00:01, x2, max 00:01:00)"],
            new object[]
            {
                OverlapPolicy.Skip, OverlapPolicy.Queue(3), OverlapPolicy.CancelPrevious, OverlapPolicy.AllowConcurrent(2),
                MisfirePolicy.RunOnce, MisfirePolicy.Skip, MisfirePolicy.CatchUp(5),
                ErrorPolicy.Continue, ErrorPolicy.Stop, ErrorPolicy.Backoff(TimeSpan.FromSeconds(1), 2, TimeSpan.FromMinutes(1)),
            }.Select(p => p.ToString()));
    }

    [Fact]
    public void Policies_InvalidBounds_Throw()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => OverlapPolicy.Queue(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => OverlapPolicy.AllowConcurrent(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => MisfirePolicy.CatchUp(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => ErrorPolicy.Backoff(TimeSpan.Zero, 2, TimeSpan.FromSeconds(1)));
        Assert.Throws<ArgumentOutOfRangeException>(() => ErrorPolicy.Backoff(TimeSpan.FromSeconds(1), 0.5, TimeSpan.FromSeconds(1)));
        Assert.Throws<ArgumentOutOfRangeException>(() => ErrorPolicy.Backoff(TimeSpan.FromSeconds(2), 2, TimeSpan.FromSeconds(1)));
    }

    [Fact]
    public void JobOptions_Invalid_RefusedWhenTheJobIsAdded()
    {
        AioTest.Run(async () =>
        {
            var jobs = new Scheduler();
            Assert.Throws<ArgumentOutOfRangeException>(() => jobs.Every(TimeSpan.FromSeconds(1), () => Task.CompletedTask, "a", new JobOptions { MaxRuns = 0 }));
            Assert.Throws<ArgumentOutOfRangeException>(() => jobs.Every(TimeSpan.FromSeconds(1), () => Task.CompletedTask, "b", new JobOptions { Timeout = TimeSpan.Zero }));
            Assert.Throws<ArgumentOutOfRangeException>(() => jobs.Every(TimeSpan.Zero, () => Task.CompletedTask, "c"));
            Assert.Empty(jobs.Jobs);
            await jobs.StopAsync();
        });
    }
}
