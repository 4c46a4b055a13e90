using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;
using static Aio.Jobs.Tests.JobTestKit;

namespace Aio.Jobs.Tests;

/// <summary>Log events with stable ids, the Aio.Jobs meter, and the Aio.Jobs activity source.</summary>
public sealed class ObservabilityTests
{
    private sealed class ListLogger : ILogger
    {
        public List<string> Lines { get; } = [];

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Lines.Add($"{eventId.Id} {logLevel}: {formatter(state, exception)}{(exception is null ? "" : $" [{exception.Message}]")}");
    }

    [Fact]
    public void Logger_RunsFailMisfireAndStop_EventsWithStableIds()
    {
        var logger = new ListLogger();
        AioTest.Run(async () =>
        {
            var jobs = new Scheduler(new SchedulerOptions { Logger = logger, StopGracePeriod = TimeSpan.FromSeconds(1) });
            jobs.Every(TimeSpan.FromSeconds(10), async ctx =>
            {
                if (ctx.RunNumber == 1)
                {
                    throw new InvalidOperationException("boom");
                }
                await Sleep(100);
            }, "j", new JobOptions { Misfire = MisfirePolicy.Skip });
            AioTask driver = CreateTask(() => jobs.RunAsync());
            await Sleep(5);
            BlockLoopFor(20);                                     // t=25: ticks 10 and 20 are missed
            await Sleep(0);
            await Sleep(10);                                      // run 2 starts at 30 and runs on
            await jobs.StopAsync(TimeSpan.FromSeconds(1));
            await driver;
        });
        Assert.Equal(
            [
                "3020 Information: Scheduler started with 1 job(s)",
                "3003 Error: Job 'j' run 1 failed after 0 s [boom]",
                "3007 Warning: Job 'j' missed 2 tick(s), the first 15 s late; misfire policy Skip",
                "3021 Information: Scheduler stopping: nothing new fires; 1 run(s) in progress get a grace period of 1 s",
                "3022 Warning: Scheduler grace period of 1 s ended; cancelling 1 run(s) of j",
                "3005 Information: Job 'j' run 2 was cancelled: the scheduler stopped and its grace period of 1 s ended",
                "3023 Information: Scheduler stopped",
            ],
            logger.Lines);
    }

    [Fact]
    public void Meter_RunsAndSkippedTicks_AreMeasuredByJobAndOutcome()
    {
        var measurements = new List<string>();   // filtered by job name: other tests' schedulers measure meanwhile
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == "Aio.Jobs")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            Dictionary<string, object?> t = tags.ToArray().ToDictionary(p => p.Key, p => p.Value);
            if (t.TryGetValue("job", out object? job) && (string)job! == "metered")
            {
                measurements.Add($"{instrument.Name} {value} {string.Join(",", t.Where(p => p.Key != "job").Select(p => $"{p.Key}={p.Value}"))}");
            }
        });
        listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) =>
        {
            Dictionary<string, object?> t = tags.ToArray().ToDictionary(p => p.Key, p => p.Value);
            if (t.TryGetValue("job", out object? job) && (string)job! == "metered")
            {
                measurements.Add($"{instrument.Name} {value}");
            }
        });
        listener.Start();
        AioTest.Run(async () =>
        {
            var jobs = new Scheduler();
            jobs.Every(TimeSpan.FromSeconds(10), async () => await Sleep(15), "metered");
            await RunFor(jobs, 16);
        });
        Assert.Equal(
            [
                "aio.jobs.fire.lateness 0",
                "aio.jobs.runs.active 1 ",
                "aio.jobs.ticks.skipped 1 ",
                "aio.jobs.runs 1 outcome=Succeeded",
                "aio.jobs.run.duration 15",
                "aio.jobs.runs.active -1 ",
            ],
            measurements);
    }

    [Fact]
    public void ActivitySource_EachRunIsAnActivityWithItsOutcome()
    {
        var activities = new System.Collections.Concurrent.ConcurrentQueue<string>();   // listeners are process-wide: other tests run meanwhile
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name == "Aio.Jobs",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = a => activities.Enqueue($"{a.DisplayName} run={a.GetTagItem("aio.job.run")} outcome={a.GetTagItem("aio.job.outcome")} status={a.Status}"),
        };
        ActivitySource.AddActivityListener(listener);
        AioTest.Run(async () =>
        {
            var jobs = new Scheduler();
            jobs.Every(TimeSpan.FromSeconds(10), ctx => ctx.RunNumber == 2 ? throw new InvalidOperationException("x") : Task.CompletedTask, "traced");
            await RunFor(jobs, 15);
        });
        Assert.Equal(["job traced run=1 outcome=Succeeded status=Unset", "job traced run=2 outcome=Failed status=Error"], activities.Where(a => a.StartsWith("job traced", StringComparison.Ordinal)));
    }
}
