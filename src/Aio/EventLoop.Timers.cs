using Aio.Internal;
using Aio.Polling;
using System.Diagnostics;

namespace Aio;

public sealed partial class EventLoop
{
    private readonly TimerHeap _timers = new();
    private int _deadTimers;        // cancelled TimerHandles and stale sleep entries still in the heap

    /// <summary>Schedules <paramref name="callback"/> to run <paramref name="delay"/> seconds from now (0 or less: on the next iteration, after callbacks already scheduled).</summary>
    /// <exception cref="ArgumentException">The delay is NaN.</exception>
    public TimerHandle CallLater(double delay, Action callback)
    {
        if (double.IsNaN(delay))
        {
            ThrowHelper.NaNDelay(nameof(delay));
        }
        return CallAt(Time() + delay, callback);
    }

    /// <summary>Schedules <paramref name="callback"/> to run after <paramref name="delay"/>.</summary>
    public TimerHandle CallLater(TimeSpan delay, Action callback) => CallLater(delay.TotalSeconds, callback);

    /// <summary>Schedules <paramref name="callback"/> with <paramref name="state"/> to run <paramref name="delay"/> seconds from now.</summary>
    public TimerHandle CallLater<TState>(double delay, Action<TState> callback, TState state)
    {
        ArgumentNullException.ThrowIfNull(callback);
        if (double.IsNaN(delay))
        {
            ThrowHelper.NaNDelay(nameof(delay));
        }
        CheckThread(nameof(CallLater));
        CheckClosed(nameof(CallLater));
        var h = new TimerHandle(this, Time() + delay, () => callback(state));
        PushTimer(h);
        return h;
    }

    /// <summary>Schedules <paramref name="callback"/> to run at loop time <paramref name="when"/> (seconds, see <see cref="Time"/>). Equal times run in scheduling order.</summary>
    /// <exception cref="ArgumentException">The time is NaN.</exception>
    public TimerHandle CallAt(double when, Action callback)
    {
        ArgumentNullException.ThrowIfNull(callback);
        if (double.IsNaN(when))
        {
            ThrowHelper.NaNDelay(nameof(when));
        }
        CheckThread(nameof(CallAt));
        CheckClosed(nameof(CallAt));
        var h = new TimerHandle(this, when, callback);
        PushTimer(h);
        return h;
    }

    private void PushTimer(TimerHandle h)
    {
        h.InHeap = true;
        _timers.Push(h.When, h, 0);
    }

    /// <summary>Arms the timer that resumes suspension <paramref name="waitId"/> of <paramref name="task"/> at <paramref name="when"/>.</summary>
    internal void PushSleep(double when, AioTask task, int waitId) => _timers.Push(when, task, waitId);

    internal void OnTimerCancelled()
    {
        _deadTimers++;
        MaybeCompactTimers();
    }

    /// <summary>Called when a sleeping task was resumed by something other than its timer: its heap entry is now dead.</summary>
    internal void OnSleepAbandoned()
    {
        _deadTimers++;
        MaybeCompactTimers();
    }

    private void MaybeCompactTimers()
    {
        // Cancelled timers are dropped lazily; once they are most of the heap, rebuild it without them.
        if (_deadTimers > 64 && _deadTimers * 2 > _timers.Count)
        {
            _timers.RemoveAll(static e => IsDead(in e));
            _deadTimers = 0;
        }
    }

    private static bool IsDead(in TimerEntry e) => e.Target switch
    {
        TimerHandle h => h.Cancelled,
        AioTask t => !t.IsSleepingOn(e.WaitId),
        _ => true,
    };

    /// <summary>Drops dead entries from the top of the heap; returns whether a live timer remains.</summary>
    private bool TryPeekLiveTimer(out double when)
    {
        while (_timers.Count > 0)
        {
            ref TimerEntry top = ref _timers.Top;
            if (!IsDead(in top))
            {
                when = top.When;
                return true;
            }
            _timers.Pop();
            if (_deadTimers > 0)
            {
                _deadTimers--;
            }
        }
        when = 0;
        return false;
    }

    /// <summary>Milliseconds to block in the poller (step 1), jumping a virtual clock when nothing could wake the loop.</summary>
    private int ComputeTimeoutMs(IPoller poller)
    {
        bool haveTimer = TryPeekLiveTimer(out double when);
        if (_virtualClock is not null)
        {
            // Virtual time moves only by jumps (or the test's Advance). Jump at once when nothing outside the
            // loop could still make something ready; never while executor work is in flight (it reports back).
            OutsideWork outside = OutsideWorkPending(poller);
            if (!haveTimer || !_virtualClock.AutoJump || outside == OutsideWork.WillReport)
            {
                return -1;
            }
            if (outside == OutsideWork.MayDeliver)
            {
                // A task awaits a foreign Task the loop cannot see into, or a descriptor is registered (a server,
                // a connection, a pipe): a thread or a peer may still deliver something – a loopback reply
                // arrives in microseconds. Give it ForeignWaitThreshold of real time, then jump if nothing
                // came (Trio's autojump_threshold).
                // The threshold counts from when the loop went idle, so an early return of the poll (a
                // leftover wake-up) waits out the rest of it instead of jumping at once.
                if (_idleSince == 0)
                {
                    _idleSince = Stopwatch.GetTimestamp();
                }
                double left = _virtualClock.ForeignWaitThreshold - Stopwatch.GetElapsedTime(_idleSince).TotalSeconds;
                _jumpAfterForeignWait = true;
                return left <= 0 ? 0 : (int)Math.Ceiling(left * 1000);
            }
            _virtualClock.JumpTo(when);
            return 0;
        }
        if (!haveTimer)
        {
            return -1;
        }
        double delay = when - _clock.Now();
        if (delay <= 0)
        {
            return 0;
        }
        double ms = Math.Ceiling(delay * 1000.0);
        return ms >= int.MaxValue ? int.MaxValue - 1 : (int)ms;
    }

    private bool _jumpAfterForeignWait;   // the last poll waited (part of) ForeignWaitThreshold for outside work: jump if nothing came
    private long _idleSince;              // Stopwatch timestamp the loop went idle waiting for outside work; 0: not idle

    /// <summary>Step 3: moves every due timer to the ready ring, in deadline order, ties in scheduling order.</summary>
    private void MoveDueTimers()
    {
        if (_jumpAfterForeignWait)
        {
            _jumpAfterForeignWait = false;
            if (_ready.Count > 0 || InboxHasWork)
            {
                _idleSince = 0; // something came: the next idle spell starts its own threshold
            }
            else if (_virtualClock is not null
                && Stopwatch.GetElapsedTime(_idleSince).TotalSeconds >= _virtualClock.ForeignWaitThreshold
                && TryPeekLiveTimer(out double due))
            {
                _idleSince = 0;
                _virtualClock.JumpTo(due);
            }
        }
        if (_timers.Count == 0)
        {
            return;
        }
        double end = _clock.Now() + _clock.Resolution;
        while (_timers.Count > 0 && _timers.Top.When <= end)
        {
            TimerEntry e = _timers.Pop();
            switch (e.Target)
            {
                case TimerHandle h:
                    h.InHeap = false;
                    if (h.Cancelled)
                    {
                        if (_deadTimers > 0)
                        {
                            _deadTimers--;
                        }
                    }
                    else
                    {
                        EnqueueHandle(h);
                    }
                    break;
                case AioTask t:
                    if (t.IsSleepingOn(e.WaitId))
                    {
                        t.Resume(e.WaitId, null);
                    }
                    else if (_deadTimers > 0)
                    {
                        _deadTimers--;
                    }
                    break;
            }
        }
    }

    /// <summary>Live timers in the heap (for tests, the hang detector and the testing helpers).</summary>
    internal int LiveTimerCount
    {
        get
        {
            int n = 0;
            foreach (TimerEntry e in _timers.Entries())
            {
                if (!IsDead(in e))
                {
                    n++;
                }
            }
            return n;
        }
    }
}
