using Microsoft.Extensions.Logging;

namespace Aio.Jobs;

/// <summary>Settings of a <see cref="Scheduler"/>.</summary>
public sealed record SchedulerOptions
{
    /// <summary>
    /// The wall clock that cron, <see cref="Scheduler.At(DateTimeOffset, Func{JobContext, Task}, string?, JobOptions?)"/> and
    /// <see cref="JobOptions.EndAt"/> read. Null (the default): the loop's <see cref="EventLoop.TimeProvider"/>, which follows
    /// virtual time from the real time at the loop's creation. Tests that need a given date (a daylight-saving
    /// transition, say) pass a <see cref="LoopWallClock"/>.
    /// </summary>
    public TimeProvider? WallClock { get; init; }

    /// <summary>Where the scheduler logs. Null (the default): the loop's <see cref="EventLoop.Logger"/>.</summary>
    public ILogger? Logger { get; init; }

    /// <summary>Where runs claim their ticks. Null (the default): a new <see cref="InMemoryJobStore"/>.</summary>
    public IJobStore? Store { get; init; }

    /// <summary>How long a claim on a tick lasts when the job has no <see cref="JobOptions.Timeout"/> (a job with one holds its lease for that long). Default 5 minutes.</summary>
    public TimeSpan LeaseDuration { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>This scheduler's name in the leases it takes. Default: host name, process id and a random suffix.</summary>
    public string InstanceId { get; init; } = $"{Environment.MachineName}/{Environment.ProcessId}/{Guid.NewGuid().ToString("N")[..8]}";

    /// <summary>
    /// How long a stop waits for the runs in progress before cancelling them, when the stop names no grace
    /// period itself (<see cref="Scheduler.RunAsync"/> cancelled by Ctrl+C, <see cref="Scheduler.DisposeAsync"/>). Default 10 seconds.
    /// </summary>
    public TimeSpan StopGracePeriod { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Seeds the jitter generator of jobs that bring none (<see cref="JobOptions.Random"/>). Null: <see cref="System.Random.Shared"/> seeds it.</summary>
    public Random? Random { get; init; }
}
