// Scheduler: periodic, cron and one-shot jobs on one Aio event loop.
//
// Design note. One driver (RunAsync, in the task that awaits it) and one loop timer for the whole
// scheduler: every job keeps its next tick in a binary heap ordered by (fire time, push order), and the
// timer is armed for the heap's top. When it fires the driver pops every due entry and hands each to its
// job (Job.OnDue), which fires runs and pushes its following tick; so a fire costs a heap pop and push,
// O(log n), whatever the number of jobs. Withdrawn ticks are not searched for: the job bumps its version
// and the stale entry is dropped when it surfaces (the heap is rebuilt when stale entries are the majority).
//
// Time: the scheduler reads the loop's clock (loop.Time()) for everything it waits for, and a wall clock
// (SchedulerOptions.WallClock, default loop.TimeProvider) only to compute cron and At ticks, so a virtual
// clock drives it completely. Runs are tasks the scheduler owns: RunAsync does not return while one is
// going. Stopping (Stop/StopAsync, or the driver's task being cancelled, as Ctrl+C under Asyncio.Run does)
// fires nothing new, waits up to the grace period for the runs in progress, cancels those left, waits
// for them to unwind, and then completes WaitStoppedAsync; a cancelled driver then rethrows its CancelledError.
using System.Diagnostics;
using System.Runtime.ExceptionServices;
using Cronos;
using Microsoft.Extensions.Logging;

namespace Aio.Jobs;

/// <summary>The lifecycle state of a <see cref="Scheduler"/>.</summary>
public enum SchedulerState
{
    /// <summary>Created; jobs may be added; nothing fires until <see cref="Scheduler.RunAsync"/>.</summary>
    Created,

    /// <summary><see cref="Scheduler.RunAsync"/> is firing ticks.</summary>
    Running,

    /// <summary>Stopping: nothing new fires; runs in progress get their grace period.</summary>
    Stopping,

    /// <summary>Stopped: every run has ended.</summary>
    Stopped,
}

/// <summary>
/// Runs jobs on an Aio event loop: fixed-rate (<see cref="Every(TimeSpan, Func{JobContext, Task}, string?, JobOptions?)"/>),
/// fixed-delay (<see cref="EveryAfter(TimeSpan, Func{JobContext, Task}, string?, JobOptions?)"/>), cron
/// (<see cref="Cron(string, Func{JobContext, Task}, string?, TimeZoneInfo?, JobOptions?)"/>) and one-shot
/// (<see cref="At(DateTimeOffset, Func{JobContext, Task}, string?, JobOptions?)"/>, <see cref="Once(TimeSpan, Func{JobContext, Task}, string?, JobOptions?)"/>)
/// jobs, each run an Aio task, with the policies of <see cref="JobOptions"/>. Add jobs, then
/// <c>await scheduler.RunAsync()</c>; stop it with <see cref="StopAsync"/> or by cancelling the task that runs it.
/// </summary>
/// <remarks>
/// A scheduler belongs to the loop it was created on: call its members (and its jobs') on that loop's
/// thread. It reads only the loop's clock and <see cref="SchedulerOptions.WallClock"/>, so on a
/// <see cref="VirtualClock"/> a day of schedules runs in a fraction of a second.
/// </remarks>
[DebuggerDisplay("{ToString(),nq}")]
public sealed class Scheduler : IAsyncDisposable
{
    private readonly Dictionary<string, Job> _byName = new(StringComparer.Ordinal);
    private readonly List<Job> _jobs = [];                          // in order of addition
    private readonly PriorityQueue<(Job Job, int Version), (double When, long Seq)> _heap = new();
    private readonly HashSet<JobRun> _runs = [];                     // runs in progress, of every job (removed ones too)
    private readonly AioEvent _wake = new();                         // set by the timer, a stop, or a tick pushed while idle
    private readonly AioEvent _idle = new();                         // set when the last run in progress ends
    private readonly AioEvent _stopped = new();                      // set once the scheduler has stopped
    private readonly Action _onTimer;
    private readonly Random _seeds;                                  // seeds each job's jitter generator
    private long _seq;                                               // push order, to break ties in the heap
    private int _stale;                                              // withdrawn entries still in the heap
    private TimerHandle? _timer;                                     // the one loop timer, armed for the heap's top
    private double _timerWhen;
    private bool _firing;                                            // inside FireDue: pushes need no timer
    private TimeSpan? _stopGrace;                                    // the grace period a Stop asked for
    private int _unnamed;

    /// <summary>Creates a scheduler on the running loop.</summary>
    /// <exception cref="InvalidOperationException">No loop is running on this thread.</exception>
    public Scheduler(SchedulerOptions? options = null) : this(EventLoop.GetRunningLoop(), options) { }

    /// <summary>Creates a scheduler on <paramref name="loop"/>; use it on that loop's thread.</summary>
    public Scheduler(EventLoop loop, SchedulerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(loop);
        Loop = loop;
        Options = options ?? new SchedulerOptions();
        WallClock = Options.WallClock ?? loop.TimeProvider;
        Logger = Options.Logger ?? loop.Logger;
        Store = Options.Store ?? new InMemoryJobStore(WallClock);
        _seeds = Options.Random ?? new Random(Random.Shared.Next());
        _onTimer = OnTimer;
    }

    /// <summary>The loop the scheduler runs on.</summary>
    public EventLoop Loop { get; }

    /// <summary>The scheduler's options.</summary>
    public SchedulerOptions Options { get; }

    /// <summary>The wall clock that cron and At ticks are computed from.</summary>
    public TimeProvider WallClock { get; }

    /// <summary>Where runs claim their ticks.</summary>
    public IJobStore Store { get; }

    /// <summary>The scheduler's state.</summary>
    public SchedulerState State { get; private set; }

    /// <summary>The jobs, in order of addition (removed jobs are gone).</summary>
    public IReadOnlyList<Job> Jobs => _jobs;

    /// <summary>Runs in progress, of every job.</summary>
    public int RunningCount => _runs.Count;

    internal ILogger Logger { get; }

    internal bool IsFiring => State == SchedulerState.Running;

    internal bool AcceptsRuns => State is SchedulerState.Created or SchedulerState.Running;

    /// <summary>The job named <paramref name="name"/>, or null.</summary>
    public Job? Find(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return _byName.GetValueOrDefault(name);
    }

    // ---- adding jobs ------------------------------------------------------------------------------------

    /// <summary>
    /// Adds a fixed-rate job: ticks at start + k × <paramref name="interval"/> (k = 0, 1, …), anchored to the
    /// schedule so it never drifts however long runs take. The first tick is at <see cref="JobOptions.StartDelay"/>
    /// (default: at once).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="interval"/> is not positive.</exception>
    /// <exception cref="ArgumentException">A job named <paramref name="name"/> exists.</exception>
    public Job Every(TimeSpan interval, Func<JobContext, Task> job, string? name = null, JobOptions? options = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(interval, TimeSpan.Zero);
        return Add(new EveryTrigger(interval, options?.AlignToWallClock == true), job, name, options);
    }

    /// <inheritdoc cref="Every(TimeSpan, Func{JobContext, Task}, string?, JobOptions?)"/>
    public Job Every(TimeSpan interval, Func<Task> job, string? name = null, JobOptions? options = null) =>
        Every(interval, Wrap(job), name ?? NameOf(job), options);

    /// <summary>
    /// Adds a fixed-delay job: the next tick is <paramref name="delay"/> after the previous run ended, so runs
    /// never overlap and a slow run pushes the schedule back. The first tick is at <see cref="JobOptions.StartDelay"/>.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="delay"/> is negative.</exception>
    /// <exception cref="ArgumentException">A job named <paramref name="name"/> exists.</exception>
    public Job EveryAfter(TimeSpan delay, Func<JobContext, Task> job, string? name = null, JobOptions? options = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(delay, TimeSpan.Zero);
        return Add(new EveryAfterTrigger(delay), job, name, options);
    }

    /// <inheritdoc cref="EveryAfter(TimeSpan, Func{JobContext, Task}, string?, JobOptions?)"/>
    public Job EveryAfter(TimeSpan delay, Func<Task> job, string? name = null, JobOptions? options = null) =>
        EveryAfter(delay, Wrap(job), name ?? NameOf(job), options);

    /// <summary>
    /// Adds a cron job: ticks at the occurrences of <paramref name="expression"/> in <paramref name="timeZone"/>
    /// (default UTC), computed by Cronos. Five fields (minute hour day month weekday) or six with seconds first.
    /// Daylight saving as Cronos resolves it: an occurrence in the spring-forward gap fires at the end of the
    /// gap; in the autumn overlap, expressions with an interval (<c>*</c>, <c>-</c> or <c>/</c>) in the second,
    /// minute or hour field fire in both halves, others once.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="expression"/> is not a valid cron expression, or a job named <paramref name="name"/> exists.</exception>
    public Job Cron(string expression, Func<JobContext, Task> job, string? name = null, TimeZoneInfo? timeZone = null, JobOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(expression);
        CronExpression cron;
        try
        {
            int fields = expression.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length;
            cron = CronExpression.Parse(expression, fields == 6 ? CronFormat.IncludeSeconds : CronFormat.Standard);
        }
        catch (CronFormatException e)
        {
            throw new ArgumentException($"Cron expression '{expression}' is not valid: {e.Message} Use five fields (minute hour day month weekday) or six with seconds first.", nameof(expression), e);
        }
        return Add(new CronTrigger(expression, cron, timeZone ?? TimeZoneInfo.Utc), job, name, options);
    }

    /// <inheritdoc cref="Cron(string, Func{JobContext, Task}, string?, TimeZoneInfo?, JobOptions?)"/>
    public Job Cron(string expression, Func<Task> job, string? name = null, TimeZoneInfo? timeZone = null, JobOptions? options = null) =>
        Cron(expression, Wrap(job), name ?? NameOf(job), timeZone, options);

    /// <summary>
    /// Adds a one-shot job at the wall-clock time <paramref name="when"/> (<see cref="WallClock"/>). A time already
    /// past by more than the misfire threshold when the scheduler gets to it is a misfire: the default
    /// policy runs it at once, <see cref="MisfirePolicy.Skip"/> drops it.
    /// </summary>
    /// <exception cref="ArgumentException">A job named <paramref name="name"/> exists.</exception>
    public Job At(DateTimeOffset when, Func<JobContext, Task> job, string? name = null, JobOptions? options = null) =>
        Add(new OnceTrigger(when), job, name, options);

    /// <inheritdoc cref="At(DateTimeOffset, Func{JobContext, Task}, string?, JobOptions?)"/>
    public Job At(DateTimeOffset when, Func<Task> job, string? name = null, JobOptions? options = null) =>
        At(when, Wrap(job), name ?? NameOf(job), options);

    /// <summary>Adds a one-shot job that runs <paramref name="delay"/> (loop time) after it is armed.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="delay"/> is negative.</exception>
    /// <exception cref="ArgumentException">A job named <paramref name="name"/> exists.</exception>
    public Job Once(TimeSpan delay, Func<JobContext, Task> job, string? name = null, JobOptions? options = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(delay, TimeSpan.Zero);
        return Add(new OnceTrigger(delay), job, name, options);
    }

    /// <inheritdoc cref="Once(TimeSpan, Func{JobContext, Task}, string?, JobOptions?)"/>
    public Job Once(TimeSpan delay, Func<Task> job, string? name = null, JobOptions? options = null) =>
        Once(delay, Wrap(job), name ?? NameOf(job), options);

    private static Func<JobContext, Task> Wrap(Func<Task> job)
    {
        ArgumentNullException.ThrowIfNull(job);
        return _ => job();
    }

    private static string? NameOf(Delegate job) =>
        job.Method.Name is { } n && !n.Contains('<', StringComparison.Ordinal) ? n : null;

    private Job Add(Trigger trigger, Func<JobContext, Task> body, string? name, JobOptions? options)
    {
        ArgumentNullException.ThrowIfNull(body);
        CheckLoop("adding a job");
        options ??= JobOptions.Default;
        options.Validate();
        if (State is SchedulerState.Stopping or SchedulerState.Stopped)
        {
            throw new InvalidOperationException($"{this} is {State.ToString().ToLowerInvariant()}: it takes no new jobs. Create a new Scheduler.");
        }
        name ??= NameOf(body) ?? $"job-{++_unnamed}";
        if (_byName.ContainsKey(name))
        {
            throw new ArgumentException($"{this} already has a job named '{name}'; job names must be unique. Pass another name, or Remove the old job first.", nameof(name));
        }
        var job = new Job(this, name, trigger, body, options, options.Random ?? new Random(_seeds.Next()));
        _byName.Add(name, job);
        _jobs.Add(job);
        JobsLog.JobAdded(Logger, name, trigger);
        if (State == SchedulerState.Running)
        {
            job.Arm(Loop.Time(), WallNow());
        }
        return job;
    }

    internal void Forget(Job job)
    {
        _byName.Remove(job.Name);
        _jobs.Remove(job);
    }

    // ---- running --------------------------------------------------------------------------------------

    /// <summary>
    /// Fires the jobs' ticks until the scheduler is stopped (<see cref="Stop"/>, <see cref="StopAsync"/>) and every
    /// run has ended. If the task running it is cancelled (Ctrl+C under <c>Asyncio.Run</c>), it stops gracefully
    /// with <see cref="SchedulerOptions.StopGracePeriod"/> — no new runs, runs in progress get the grace period,
    /// then are cancelled — and then rethrows the <see cref="CancelledError"/>.
    /// </summary>
    /// <exception cref="InvalidOperationException">The scheduler is already running or stopped.</exception>
    public async Task RunAsync()
    {
        CheckLoop(nameof(RunAsync));
        if (State != SchedulerState.Created)
        {
            throw new InvalidOperationException($"{this} cannot run: it is {State.ToString().ToLowerInvariant()}. A scheduler runs once; create a new Scheduler.");
        }
        State = SchedulerState.Running;
        JobsLog.Started(Logger, _jobs.Count);
        double now = Loop.Time();
        DateTimeOffset wallNow = WallNow();
        foreach (Job job in _jobs.ToArray())
        {
            job.Arm(now, wallNow);
        }
        ExceptionDispatchInfo? failure = null;
        try
        {
            while (State == SchedulerState.Running)
            {
                _wake.Clear();
                FireDue();
                if (State != SchedulerState.Running)
                {
                    break;
                }
                ArmTimer();
                await _wake.WaitAsync();
            }
        }
        catch (Exception e)
        {
            // Our task was cancelled (Ctrl+C under Asyncio.Run cancels main), or the loop refused a run:
            // stop gracefully all the same, then rethrow.
            failure = ExceptionDispatchInfo.Capture(e);
        }
        TimeSpan grace = _stopGrace ?? Options.StopGracePeriod;
        await new CancelScope(shield: true).RunAsync(() => DrainAsync(grace));
        failure?.Throw();
    }

    /// <summary>
    /// Asks the scheduler to stop: nothing new fires from now on; the runs in progress get
    /// <paramref name="gracePeriod"/> (default <see cref="SchedulerOptions.StopGracePeriod"/>) to finish, then
    /// are cancelled. Returns at once; <see cref="WaitStoppedAsync"/> waits for the end. Idempotent (the first
    /// grace period counts). Safe to call from inside a job's run.
    /// </summary>
    public void Stop(TimeSpan? gracePeriod = null)
    {
        CheckLoop(nameof(Stop));
        if (gracePeriod is TimeSpan g)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(g, TimeSpan.Zero, nameof(gracePeriod));
        }
        switch (State)
        {
            case SchedulerState.Running:
                _stopGrace = gracePeriod;
                State = SchedulerState.Stopping;
                _wake.Set();   // the driver leaves its loop and drains
                break;
            case SchedulerState.Created:
                _stopGrace = gracePeriod;
                if (_runs.Count == 0)
                {
                    StopJobs(gracePeriod ?? Options.StopGracePeriod);
                    Finish();
                }
                else
                {
                    // Runs started by TriggerNow before RunAsync: no driver to drain them, so a task does it.
                    TimeSpan grace = gracePeriod ?? Options.StopGracePeriod;
                    StopJobs(grace);
                    _ = Loop.CreateTask(() => DrainRunsAsync(grace), "scheduler-stop");
                }
                break;
        }
    }

    /// <summary>
    /// Stops the scheduler (<see cref="Stop"/>) and waits until it has stopped: every run has finished within
    /// <paramref name="gracePeriod"/> or been cancelled and unwound. Do not await it from inside a job's run
    /// (the run would wait for itself until the grace period ends); call <see cref="Stop"/> there.
    /// </summary>
    public async Task StopAsync(TimeSpan? gracePeriod = null)
    {
        if (State == SchedulerState.Stopped)
        {
            return;
        }
        Stop(gracePeriod);
        await _stopped.WaitAsync();
    }

    /// <summary>Waits until the scheduler has stopped: how another component orders its own shutdown after this one's.</summary>
    public ValueTask WaitStoppedAsync() => _stopped.WaitAsync();

    /// <summary>Stops with the default grace period and waits (<see cref="StopAsync"/>).</summary>
    public async ValueTask DisposeAsync() => await StopAsync();

    /// <inheritdoc/>
    public override string ToString() =>
        $"<Scheduler {State.ToString().ToLowerInvariant()} jobs={_jobs.Count} running={_runs.Count}>";

    private void FireDue()
    {
        double now = Loop.Time();
        double horizon = now + Loop.Clock.Resolution;
        _firing = true;
        try
        {
            while (State == SchedulerState.Running && _heap.TryPeek(out (Job Job, int Version) entry, out (double When, long Seq) key) && key.When <= horizon)
            {
                _heap.Dequeue();
                if (entry.Version != entry.Job.Version)
                {
                    _stale--;
                    continue;
                }
                entry.Job.OnDue(now);
            }
        }
        finally
        {
            _firing = false;
        }
    }

    private void ArmTimer()
    {
        while (_heap.TryPeek(out (Job Job, int Version) top, out _) && top.Version != top.Job.Version)
        {
            _heap.Dequeue();
            _stale--;
        }
        if (!_heap.TryPeek(out _, out (double When, long Seq) key))
        {
            _timer?.Cancel();
            _timer = null;
            return;
        }
        if (_timer is not null && _timerWhen <= key.When)
        {
            return;   // it fires first; the driver re-arms then
        }
        _timer?.Cancel();
        _timerWhen = key.When;
        _timer = Loop.CallAt(key.When, _onTimer);
    }

    private void OnTimer()
    {
        _timer = null;
        _wake.Set();
    }

    internal void Push(Job job, double when)
    {
        _heap.Enqueue((job, job.Version), (when, _seq++));
        if (!_firing && State == SchedulerState.Running)
        {
            ArmTimer();
        }
    }

    internal void NoteStaleEntry()
    {
        _stale++;
        if (State == SchedulerState.Running && _stale > 64 && _stale > _heap.Count / 2)
        {
            var live = new List<((Job, int), (double, long))>(_heap.Count - _stale);
            foreach (((Job Job, int Version) e, (double, long) p) in _heap.UnorderedItems)
            {
                if (e.Version == e.Job.Version)
                {
                    live.Add((e, p));
                }
            }
            _heap.Clear();
            _heap.EnqueueRange(live);
            _stale = 0;
        }
    }

    internal DateTimeOffset WallNow() => WallClock.GetUtcNow();

    internal void OnRunStarted(JobRun run) => _runs.Add(run);

    internal void OnRunFinished(JobRun run)
    {
        _runs.Remove(run);
        if (_runs.Count == 0)
        {
            _idle.Set();
        }
    }

    private void StopJobs(TimeSpan grace)
    {
        State = SchedulerState.Stopping;
        JobsLog.Stopping(Logger, _runs.Count, grace.TotalSeconds);
        _timer?.Cancel();
        _timer = null;
        foreach (Job job in _jobs)
        {
            job.OnSchedulerStopping();
        }
        _heap.Clear();
        _stale = 0;
    }

    private async Task DrainAsync(TimeSpan grace)
    {
        StopJobs(grace);
        await DrainRunsAsync(grace);
    }

    private async Task DrainRunsAsync(TimeSpan grace)
    {
        if (_runs.Count > 0 && grace > TimeSpan.Zero)
        {
            await new CancelScope(deadline: Loop.Time() + grace.TotalSeconds).RunAsync(WaitIdleAsync);
        }
        if (_runs.Count > 0)
        {
            JobRun[] left = [.. _runs];
            if (Logger.IsEnabled(LogLevel.Warning))
            {
                JobsLog.CancellingRuns(Logger, grace.TotalSeconds, left.Length, string.Join(", ", left.Select(r => r.Job.Name).Distinct()));
            }
            foreach (JobRun run in left)
            {
                run.Cancel($"the scheduler stopped and its grace period of {grace.TotalSeconds:0.###} s ended");
            }
            await WaitIdleAsync();
        }
        Finish();
    }

    private void Finish()
    {
        State = SchedulerState.Stopped;
        _stopped.Set();
        JobsLog.Stopped(Logger);
    }

    private async Task WaitIdleAsync()
    {
        while (_runs.Count > 0)
        {
            _idle.Clear();
            await _idle.WaitAsync();
        }
    }

    internal void CheckLoop(string member)
    {
        if (Environment.CurrentManagedThreadId != Loop.OwnerThreadId)
        {
            throw new InvalidOperationException($"{member} on {this} was called from thread {Environment.CurrentManagedThreadId}, but the scheduler belongs to {Loop}, whose thread is {Loop.OwnerThreadId}. Use Loop.CallSoonThreadSafe to reach it.");
        }
    }
}
