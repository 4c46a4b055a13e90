using Aio.Internal;

namespace Aio;

public sealed partial class EventLoop
{
    private readonly LoopTimeProvider _timeProvider;

    /// <summary>
    /// A <see cref="System.TimeProvider"/> that follows the loop's clock, virtual included: timers it creates
    /// are loop timers, so <c>await Task.Delay(TimeSpan.FromHours(1), loop.TimeProvider)</c> on a
    /// virtual-clock loop finishes at once in real time with <see cref="Time"/> advanced by 3600.
    /// Any thread may use it; its timer callbacks run on the loop thread.
    /// </summary>
    public TimeProvider TimeProvider => _timeProvider;

    /// <summary>Time since the loop's clock origin, and loop timers behind <see cref="ITimer"/>.</summary>
    private sealed class LoopTimeProvider : TimeProvider
    {
        private const long TicksPerSecond = TimeSpan.TicksPerSecond;
        private readonly EventLoop _loop;
        private readonly DateTimeOffset _utcOrigin;   // UTC time when the loop clock read _clockOrigin
        private readonly double _clockOrigin;

        public LoopTimeProvider(EventLoop loop)
        {
            _loop = loop;
            _clockOrigin = loop._clock.Now();
            _utcOrigin = global::System.DateTimeOffset.UtcNow;
        }

        public override long TimestampFrequency => TicksPerSecond;

        public override long GetTimestamp() => (long)(_loop._clock.Now() * TicksPerSecond);

        public override DateTimeOffset GetUtcNow() =>
            _utcOrigin + TimeSpan.FromSeconds(_loop._clock.Now() - _clockOrigin);

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            ArgumentNullException.ThrowIfNull(callback);
            var timer = new LoopTimer(_loop, callback, state);
            timer.Change(dueTime, period);
            return timer;
        }
    }

    /// <summary>
    /// An <see cref="ITimer"/> on the loop's timer heap. Change and Dispose may come from any thread; they
    /// are marshalled to the loop. Fires on the loop thread.
    /// </summary>
    private sealed class LoopTimer(EventLoop loop, TimerCallback callback, object? state) : ITimer
    {
        private TimerHandle? _handle;   // loop thread only
        private TimeSpan _period;
        private int _generation;        // bumped by every Change/Dispose, so a stale arming is ignored
        private bool _disposed;

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            if (_disposed)
            {
                return false;
            }
            int generation = Interlocked.Increment(ref _generation);
            if (Environment.CurrentManagedThreadId == loop.OwnerThreadId && !loop.IsClosed)
            {
                Arm(dueTime, period, generation);
            }
            else if (!loop.TryPostItem(new ReadyItem { Kind = ReadyKind.Action, Callback = s_arm, State = (this, dueTime, period, generation) }))
            {
                return false;
            }
            return true;
        }

        private static readonly Action<object?> s_arm = static s =>
        {
            var (timer, due, period, generation) = ((LoopTimer, TimeSpan, TimeSpan, int))s!;
            timer.Arm(due, period, generation);
        };

        private void Arm(TimeSpan dueTime, TimeSpan period, int generation)
        {
            if (generation != Volatile.Read(ref _generation) || _disposed)
            {
                return;
            }
            _handle?.Cancel();
            _handle = null;
            _period = period;
            if (dueTime == System.Threading.Timeout.InfiniteTimeSpan)
            {
                return;
            }
            _handle = loop.CallLater(Math.Max(0, dueTime.TotalSeconds), Fire);
            if (loop.CurrentTaskInternal is { } task)
            {
                // The task will await this timer (Task.Delay): a virtual clock may jump to it.
                task._loopTimerThisStep = true;
            }
        }

        private void Fire()
        {
            _handle = null;
            if (_disposed)
            {
                return;
            }
            if (_period != System.Threading.Timeout.InfiniteTimeSpan && _period > TimeSpan.Zero)
            {
                _handle = loop.CallLater(_period.TotalSeconds, Fire);
            }
            callback(state);
        }

        public void Dispose()
        {
            _disposed = true;
            Interlocked.Increment(ref _generation);
            if (Environment.CurrentManagedThreadId == loop.OwnerThreadId)
            {
                _handle?.Cancel();
                _handle = null;
            }
            else
            {
                loop.TryPostItem(new ReadyItem { Kind = ReadyKind.Action, Callback = (Action<object?>)(static s => { var t = (LoopTimer)s!; t._handle?.Cancel(); t._handle = null; }), State = this });
            }
        }

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
