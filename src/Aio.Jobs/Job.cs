// Job: one scheduled job — its trigger, its next tick, its runs in progress and its statistics.
//
// Design note. A job keeps at most one tick in the scheduler's heap (_next). Withdrawing it (pause,
// remove, a backoff, a stop) bumps Version: the heap entry that still points at the job is then stale
// and ignored when it reaches the top, so nothing is ever searched for in the heap. When its tick comes
// due the scheduler calls OnDue: the tick is checked against the wall clock (cron, At), classified as
// on time or missed (MisfireThreshold), fired through the overlap policy, and the next tick is computed
// from the trigger and pushed. A run is an Aio task created by the job; the run reports back through
// OnRunCompleted, which applies the error policy, starts a queued tick, and schedules a fixed-delay
// trigger's next tick. Everything runs on the loop thread; there are no locks.
using System.Diagnostics;
using Microsoft.Extensions.Logging;

namespace Aio.Jobs;

/// <summary>
/// A job of a <see cref="Scheduler"/>: its schedule, state and statistics, and its controls (pause, resume,
/// trigger now, remove). Returned by the scheduler's <c>Every</c>, <c>EveryAfter</c>, <c>Cron</c>, <c>At</c> and
/// <c>Once</c>. Like its scheduler, it belongs to the scheduler's loop: use it on that loop's thread.
/// </summary>
[DebuggerDisplay("{ToString(),nq}")]
public sealed class Job
{
    private readonly Scheduler _scheduler;
    private readonly Func<JobContext, Task> _body;
    private readonly Random _random;               // jitter source
    private readonly List<JobRun> _running = [];   // runs in progress, oldest first
    private Queue<Tick>? _queue;                   // ticks held by OverlapPolicy.Queue; created on first use
    private Tick? _next;                           // the tick waiting in the heap; null when none
    private double _nextFire;                      // _next's loop time plus its jitter
    private bool _nextIsRetry;                     // _next is a backoff retry, not a tick of the trigger
    private long _nextIndex;                       // index of the trigger's tick after the last one taken
    private double _endTime = double.PositiveInfinity;   // loop time of EndAfter, once armed
    private bool _armed;                           // the first tick has been computed
    private int _consecutiveFailures;              // failed or timed-out runs in a row
    private bool _inBackoff;                       // the schedule is suspended until a run succeeds
    private long _started, _succeeded, _failed, _timedOut, _cancelled, _skipped, _misfired;
    private double _lastDuration, _totalDuration, _maxDuration;

    internal Job(Scheduler scheduler, string name, Trigger trigger, Func<JobContext, Task> body, JobOptions options, Random random)
    {
        _scheduler = scheduler;
        Name = name;
        Trigger = trigger;
        _body = body;
        Options = options;
        _random = random;
    }

    /// <summary>Bumped whenever the tick in the heap is withdrawn: a heap entry with another version is stale.</summary>
    internal int Version { get; private set; }

    internal Trigger Trigger { get; }

    internal Func<JobContext, Task> Body => _body;

    internal IReadOnlyList<JobRun> Running => _running;

    /// <summary>The job's name, unique in its scheduler.</summary>
    public string Name { get; }

    /// <summary>The job's options.</summary>
    public JobOptions Options { get; }

    /// <summary>The trigger in words: <c>every 00:01:00</c>, <c>cron '*/5 * * * *' Europe/Berlin</c>, …</summary>
    public string Schedule => Trigger.ToString();

    /// <summary>The job's state.</summary>
    public JobState State { get; private set; }

    /// <summary>The loop time of the next tick (jitter included); null when none is scheduled (paused, ended, or the scheduler has not started).</summary>
    public double? NextFireTime => _next is null ? null : _nextFire;

    /// <summary>The wall-clock time of the next tick (jitter included); null when none is scheduled.</summary>
    public DateTimeOffset? NextFireAt => _next is Tick t ? t.At + TimeSpan.FromSeconds(_nextFire - t.Due) : null;

    /// <summary>Runs in progress.</summary>
    public int RunningCount => _running.Count;

    /// <summary>How the last finished run ended (<see cref="JobOutcome.None"/> before the first).</summary>
    public JobOutcome LastOutcome { get; private set; }

    /// <summary>The exception of the last failed run; null if the last run did not fail.</summary>
    public Exception? LastError { get; private set; }

    /// <summary>The job's run statistics.</summary>
    public JobStatistics Statistics
    {
        get
        {
            long finished = _succeeded + _failed + _timedOut + _cancelled;
            return new JobStatistics(_started, _succeeded, _failed, _timedOut, _cancelled, _skipped, _misfired,
                TimeSpan.FromSeconds(_lastDuration),
                finished == 0 ? TimeSpan.Zero : TimeSpan.FromSeconds(_totalDuration / finished),
                TimeSpan.FromSeconds(_maxDuration));
        }
    }

    /// <summary>Stops firing ticks until <see cref="Resume"/>; runs in progress go on and held ticks are dropped. Does nothing unless the job is scheduled.</summary>
    public void Pause()
    {
        _scheduler.CheckLoop(nameof(Pause));
        if (State != JobState.Scheduled)
        {
            return;
        }
        Withdraw();
        _skipped += _queue?.Count ?? 0;
        _queue?.Clear();
        State = JobState.Paused;
        JobsLog.Paused(_scheduler.Logger, Name);
    }

    /// <summary>
    /// Fires ticks again, from the first tick at or after now (the ticks that passed while paused are not
    /// misfires). Does nothing unless the job is paused.
    /// </summary>
    public void Resume()
    {
        _scheduler.CheckLoop(nameof(Resume));
        if (State != JobState.Paused)
        {
            return;
        }
        State = JobState.Scheduled;
        JobsLog.Resumed(_scheduler.Logger, Name);
        if (_armed && _scheduler.IsFiring)
        {
            _inBackoff = false;
            if (!(Trigger.AfterCompletion && _running.Count > 0))
            {
                ScheduleTick(Trigger.FromNow(_nextIndex, _scheduler.Loop.Time(), _scheduler.WallNow()), retry: false);
            }
        }
    }

    /// <summary>
    /// Starts a run now, outside the schedule, through the overlap policy (under <see cref="OverlapPolicy.Skip"/>
    /// it does nothing while a run is going). Works while paused. Returns true if a run started or was queued.
    /// </summary>
    /// <exception cref="InvalidOperationException">The job was removed, or the scheduler is stopping or stopped.</exception>
    public bool TriggerNow()
    {
        _scheduler.CheckLoop(nameof(TriggerNow));
        if (State == JobState.Removed || !_scheduler.AcceptsRuns)
        {
            throw new InvalidOperationException($"{this} cannot be triggered: {(State == JobState.Removed ? "it was removed from its scheduler" : "its scheduler is stopping or stopped")}.");
        }
        double now = _scheduler.Loop.Time();
        return FireTick(new Tick(now, _scheduler.WallNow(), -1), now, missed: 0, manual: true);
    }

    /// <summary>Removes the job from its scheduler: no more ticks; runs in progress go on (a stop of the scheduler still waits for them). Idempotent.</summary>
    public void Remove()
    {
        _scheduler.CheckLoop(nameof(Remove));
        if (State == JobState.Removed)
        {
            return;
        }
        Withdraw();
        _skipped += _queue?.Count ?? 0;
        _queue?.Clear();
        State = JobState.Removed;
        _scheduler.Forget(this);
        JobsLog.Removed(_scheduler.Logger, Name);
    }

    /// <inheritdoc/>
    public override string ToString()
    {
        string next = _next is null ? "" : $" next={_nextFire:0.###}";
        return $"<Job '{Name}' {Schedule} {State.ToString().ToLowerInvariant()}{next} runs={_started} running={_running.Count} failures={_failed + _timedOut}>";
    }

    // ---- scheduling (called by the scheduler) -------------------------------------------------------

    /// <summary>Computes the first tick: when the scheduler starts, or when the job is added to a running scheduler.</summary>
    internal void Arm(double now, DateTimeOffset wallNow)
    {
        _armed = true;
        if (Options.EndAfter is TimeSpan endAfter)
        {
            _endTime = now + endAfter.TotalSeconds;
        }
        if (State == JobState.Scheduled)
        {
            ScheduleTick(Trigger.First(now, wallNow, Options.StartDelay), retry: false);
        }
    }

    /// <summary>The scheduler stops: withdraw the next tick and drop held ticks; runs in progress go on.</summary>
    internal void OnSchedulerStopping()
    {
        Withdraw();
        _skipped += _queue?.Count ?? 0;
        _queue?.Clear();
        if (State is JobState.Scheduled or JobState.Paused)
        {
            State = JobState.Completed;
        }
    }

    private void Withdraw()
    {
        if (_next is not null)
        {
            _next = null;
            Version++;
            _scheduler.NoteStaleEntry();
        }
    }

    private bool BeyondEnd(in Tick tick) =>
        tick.Due > _endTime || (Options.EndAt is DateTimeOffset endAt && tick.At > endAt);

    private bool RunLimitReached => Options.MaxRuns is long max && _started >= max;

    private void ScheduleTick(Tick? tick, bool retry)
    {
        if (tick is not Tick t || (!retry && BeyondEnd(t)) || RunLimitReached || (Trigger.OneShot && _nextIndex > 0 && !retry))
        {
            _next = null;
            if (State == JobState.Scheduled)
            {
                State = JobState.Completed;
                JobsLog.Completed(_scheduler.Logger, Name, _started);
            }
            return;
        }
        double jitter = Options.Jitter > TimeSpan.Zero ? _random.NextDouble() * Options.Jitter.TotalSeconds : 0;
        _next = t;
        _nextIsRetry = retry;
        _nextFire = t.Due + jitter;
        _scheduler.Push(this, _nextFire);
    }

    /// <summary>The heap entry of the current version came due at loop time <paramref name="now"/>.</summary>
    internal void OnDue(double now)
    {
        if (_next is not Tick tick)
        {
            return;
        }
        _next = null;
        DateTimeOffset wallNow = default;
        if (Trigger.WallAnchored && !_nextIsRetry)
        {
            // The tick was converted to loop time when it was computed; if the wall clock has since fallen
            // behind (it was set back, or it runs slower than the monotonic clock), wait for the rest.
            wallNow = _scheduler.WallNow();
            double early = (tick.At - wallNow).TotalSeconds;
            if (early > 1e-3)
            {
                _next = tick;
                _nextFire = now + early + (_nextFire - tick.Due);
                _scheduler.Push(this, _nextFire);
                return;
            }
        }
        if (_nextIsRetry)
        {
            // A backoff retry is not a tick of the trigger: fire it; the run's outcome decides what comes next.
            if (!FireTick(tick, now, missed: 0, manual: false) && _running.Count == 0)
            {
                _inBackoff = false;
                ScheduleTick(Trigger.FromNow(_nextIndex, now, WallNow(ref wallNow)), retry: false);
            }
            return;
        }
        _nextIndex = tick.Index + 1;
        double threshold = Options.MisfireThreshold.TotalSeconds;
        double late = now - _nextFire;
        if (Trigger.WallAnchored)
        {
            // The loop's monotonic clock may not count a suspension (CLOCK_MONOTONIC does not) while the wall
            // clock does: a wall-clock tick is as late as the later of the two says.
            late = Math.Max(late, (wallNow - tick.At).TotalSeconds - (_nextFire - tick.Due));
        }
        if (late <= threshold)
        {
            FireTick(tick, now, missed: 0, manual: false);
            if (!Trigger.AfterCompletion && State == JobState.Scheduled)
            {
                ScheduleTick(Trigger.Next(tick, now, WallNow(ref wallNow)), retry: false);
            }
            return;
        }
        OnMisfire(tick, now, late, WallNow(ref wallNow));
    }

    private DateTimeOffset WallNow(ref DateTimeOffset cached)
    {
        if (cached == default)
        {
            cached = _scheduler.WallNow();
        }
        return cached;
    }

    /// <summary>Ticks were missed: collect them (the first is <paramref name="first"/>) and apply the misfire policy.</summary>
    private void OnMisfire(Tick first, double now, double late, DateTimeOffset wallNow)
    {
        const int MaxCounted = 1_000_000;   // bounds the walk over a very long suspension
        MisfirePolicy policy = Options.Misfire;
        Queue<Tick>? kept = policy.Kind == MisfireKind.CatchUp ? new Queue<Tick>() : null;
        kept?.Enqueue(first);
        long missed = 1;
        Tick last = first;
        // Once one tick is missed, every tick already due belongs to the backlog too: a tick that is due
        // now but within the threshold would otherwise collide with the run that stands for the backlog.
        double cutoff = now + _scheduler.Loop.Clock.Resolution;
        Tick? following = Trigger.AfterCompletion ? null : Trigger.Next(first, now, wallNow);
        while (following is Tick t && t.Due <= cutoff && !BeyondEnd(t) && missed < MaxCounted)
        {
            missed++;
            last = t;
            if (kept is not null)
            {
                kept.Enqueue(t);
                if (kept.Count > policy.Limit)
                {
                    kept.Dequeue();
                }
            }
            following = Trigger.Next(t, now, wallNow);
        }
        if (missed >= MaxCounted && following is Tick beyond && beyond.Due <= cutoff)
        {
            following = Trigger.FromNow(beyond.Index, now, wallNow);   // stop counting: jump to the present
        }
        _nextIndex = last.Index + 1;
        _misfired += missed;
        JobsLog.Misfired(_scheduler.Logger, Name, missed, late, policy.ToString());
        JobsTelemetry.Misfired(Name, missed, policy.Kind);
        switch (policy.Kind)
        {
            case MisfireKind.RunOnce:
                FireTick(last, now, missed: (int)Math.Min(int.MaxValue, missed - 1), manual: false);
                break;
            case MisfireKind.CatchUp:
                _skipped += missed - kept!.Count;
                while (kept.TryDequeue(out Tick t) && State is JobState.Scheduled)
                {
                    FireTick(t, now, missed: 0, manual: false);
                }
                break;
        }
        if (State != JobState.Scheduled)
        {
            return;
        }
        if (Trigger.AfterCompletion)
        {
            if (_running.Count == 0 && _next is null && !_inBackoff)
            {
                ScheduleTick(Trigger.AfterRun(_nextIndex, now, wallNow), retry: false);
            }
        }
        else if (!_inBackoff)
        {
            ScheduleTick(following, retry: false);
        }
    }

    /// <summary>Fires one tick through the overlap policy. Returns true if a run started or was queued.</summary>
    private bool FireTick(in Tick tick, double now, int missed, bool manual)
    {
        if (!manual && RunLimitReached)
        {
            return false;
        }
        OverlapPolicy overlap = Options.Overlap;
        if (_running.Count > 0)
        {
            switch (overlap.Kind)
            {
                case OverlapKind.Skip:
                    Skip("a run is still in progress (overlap policy Skip)");
                    return false;
                case OverlapKind.Queue:
                    _queue ??= new Queue<Tick>();
                    if (_queue.Count >= overlap.Limit)
                    {
                        Skip($"the queue of held ticks is full ({overlap.Limit})");
                        return false;
                    }
                    _queue.Enqueue(tick);
                    return true;
                case OverlapKind.AllowConcurrent when _running.Count >= overlap.Limit:
                    Skip($"{_running.Count} runs are in progress (overlap policy AllowConcurrent({overlap.Limit}))");
                    return false;
                case OverlapKind.CancelPrevious:
                    foreach (JobRun run in _running.ToArray())
                    {
                        run.Cancel("superseded by a newer run (overlap policy CancelPrevious)");
                    }
                    break;
            }
        }
        StartRun(tick, now, missed, manual);
        return true;
    }

    private void Skip(string reason)
    {
        _skipped++;
        JobsLog.TickSkipped(_scheduler.Logger, Name, reason);
        JobsTelemetry.Skipped(Name);
    }

    private void StartRun(in Tick tick, double now, int missed, bool manual)
    {
        _started++;
        var context = new JobContext(this, _started, tick, now, missed, manual, _inBackoff ? _consecutiveFailures : 0);
        var run = new JobRun(this, context, _scheduler);
        _running.Add(run);
        _scheduler.OnRunStarted(run);
        run.Start();
        if (!manual && (Trigger.OneShot || RunLimitReached) && State == JobState.Scheduled)
        {
            Withdraw();
            State = JobState.Completed;
            JobsLog.Completed(_scheduler.Logger, Name, _started);
        }
    }

    /// <summary>A run ended (or was cancelled before it started): statistics, error policy, held ticks, fixed delay.</summary>
    internal void OnRunCompleted(JobRun run, JobOutcome outcome, Exception? error, double duration)
    {
        _running.Remove(run);
        LastOutcome = outcome;
        LastError = outcome == JobOutcome.Failed ? error : null;
        switch (outcome)
        {
            case JobOutcome.Succeeded: _succeeded++; break;
            case JobOutcome.Failed: _failed++; break;
            case JobOutcome.TimedOut: _timedOut++; break;
            case JobOutcome.Cancelled: _cancelled++; break;
            case JobOutcome.NotClaimed: _skipped++; break;
        }
        if (outcome != JobOutcome.NotClaimed)
        {
            _lastDuration = duration;
            _totalDuration += duration;
            _maxDuration = Math.Max(_maxDuration, duration);
        }
        _scheduler.OnRunFinished(run);

        double now = _scheduler.Loop.Time();
        bool active = State == JobState.Scheduled && _scheduler.IsFiring;
        if (outcome is JobOutcome.Failed or JobOutcome.TimedOut)
        {
            _consecutiveFailures++;
            switch (Options.OnError.Kind)
            {
                case ErrorKind.Stop when State is JobState.Scheduled or JobState.Paused:
                    Withdraw();
                    _skipped += _queue?.Count ?? 0;
                    _queue?.Clear();
                    State = JobState.Faulted;
                    JobsLog.Faulted(_scheduler.Logger, Name, run.Context.RunNumber);
                    return;
                case ErrorKind.Backoff when active:
                    double delay = Options.OnError.DelaySeconds(_consecutiveFailures);
                    Withdraw();
                    _skipped += _queue?.Count ?? 0;   // held ticks are dropped like the ticks during the backoff
                    _queue?.Clear();
                    _inBackoff = true;
                    JobsLog.BackingOff(_scheduler.Logger, Name, _consecutiveFailures, delay);
                    ScheduleTick(new Tick(now + delay, _scheduler.WallNow() + TimeSpan.FromSeconds(delay), _nextIndex), retry: true);
                    return;
            }
        }
        else if (outcome == JobOutcome.Succeeded)
        {
            if (_inBackoff)
            {
                JobsLog.Recovered(_scheduler.Logger, Name, _consecutiveFailures);
                _inBackoff = false;
                if (active && !Trigger.AfterCompletion)
                {
                    Withdraw();
                    ScheduleTick(Trigger.FromNow(_nextIndex, now, _scheduler.WallNow()), retry: false);
                }
            }
            _consecutiveFailures = 0;
        }
        if (_queue is { Count: > 0 } && _running.Count == 0 && State != JobState.Removed && _scheduler.AcceptsRuns)
        {
            Tick held = _queue.Dequeue();
            StartRun(held, now, missed: 0, manual: held.Index < 0);
            return;
        }
        if (active && Trigger.AfterCompletion && _next is null && _running.Count == 0 && !_inBackoff)
        {
            ScheduleTick(Trigger.AfterRun(_nextIndex, now, _scheduler.WallNow()), retry: false);
        }
    }

    /// <summary>The store reported earlier runs whose owner vanished: missed ticks, handled by the misfire policy.</summary>
    internal void OnAbandonedRuns(JobContext context, int count)
    {
        MisfirePolicy policy = Options.Misfire;
        _misfired += count;
        JobsLog.AbandonedRuns(_scheduler.Logger, Name, count, policy.ToString());
        JobsTelemetry.Misfired(Name, count, policy.Kind);
        if (policy.Kind != MisfireKind.Skip)
        {
            context.MissedTicks += count;
        }
    }

    /// <summary>Counts a run that never reached its body (cancelled before its first step) for the log.</summary>
    internal ILogger Logger => _scheduler.Logger;
}
