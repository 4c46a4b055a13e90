using Aio.Internal;

namespace Aio;

public sealed partial class EventLoop
{
    private readonly object _inboxLock = new();
    private List<ReadyItem> _inbox = new();      // posts from any thread; guarded by _inboxLock
    private List<ReadyItem> _inboxSpare = new(); // swapped with _inbox when draining, loop thread only
    private volatile int _inboxCount;            // _inbox.Count, readable without the lock
    private readonly LoopSynchronizationContext _syncContext;
    private readonly LoopTaskScheduler _scheduler;
    internal volatile int _syncWaits;            // > 0 while the loop thread blocks in a synchronous wait (for the watchdog's report)

    /// <summary>
    /// The loop's <see cref="System.Threading.SynchronizationContext"/>: installed while the loop runs, so an
    /// <c>await</c> of a foreign task in code run by the loop resumes on the loop thread. Its
    /// <c>Post</c> may be called from any thread.
    /// </summary>
    public SynchronizationContext SynchronizationContext => _syncContext;

    /// <summary>A <see cref="System.Threading.Tasks.TaskScheduler"/> that runs tasks on the loop thread; queueing to it is thread-safe.</summary>
    public TaskScheduler TaskScheduler => _scheduler;

    /// <summary>
    /// The one thread-safe door into the loop: schedules <paramref name="callback"/> to run on the loop
    /// thread on a later iteration, and wakes the loop if it is blocked waiting for I/O or timers.
    /// Any thread.
    /// </summary>
    /// <exception cref="InvalidOperationException">The loop is closed.</exception>
    public Handle CallSoonThreadSafe(Action callback)
    {
        ArgumentNullException.ThrowIfNull(callback);
        CheckClosed(nameof(CallSoonThreadSafe));
        var box = new HandleBox(this, callback);
        PostItem(new ReadyItem { Kind = ReadyKind.Handle, State = box });
        return new Handle(box);
    }

    /// <summary>Thread-safe post of an entry to the inbox, then a (coalesced) wake-up of the poller.</summary>
    internal void PostItem(in ReadyItem item)
    {
        lock (_inboxLock)
        {
            if (_closed)
            {
                ThrowHelper.LoopClosed(nameof(CallSoonThreadSafe));
            }
            _inbox.Add(item);
            _inboxCount = _inbox.Count;
        }
        _poller?.Wake();
    }

    /// <summary>Thread-safe post that silently drops the item when the loop is closed (late completions of foreign work).</summary>
    internal bool TryPostItem(in ReadyItem item)
    {
        lock (_inboxLock)
        {
            if (_closed)
            {
                return false;
            }
            _inbox.Add(item);
            _inboxCount = _inbox.Count;
        }
        _poller?.Wake();
        return true;
    }

    private bool InboxHasWork => _inboxCount > 0;

    /// <summary>Step 4: moves everything posted from other threads into the ready ring, in posting order.</summary>
    private void DrainInbox()
    {
        if (_inboxCount == 0)
        {
            return;
        }
        List<ReadyItem> items;
        lock (_inboxLock)
        {
            items = _inbox;
            _inbox = _inboxSpare;
            _inboxCount = 0;
        }
        foreach (ReadyItem item in items)
        {
            _ready.Enqueue() = item;
        }
        items.Clear();
        _inboxSpare = items;
    }

    /// <summary>Posts <paramref name="callback"/> as a step of <paramref name="task"/> (or a plain callback when null): on the ring when on the loop thread, else through the inbox.</summary>
    internal void PostFromContext(SendOrPostCallback callback, object? state, AioTask? task)
    {
        var item = new ReadyItem { Kind = ReadyKind.Post, Callback = callback, State = state, Task = task };
        if (ReferenceEquals(t_running, this) && !_closed)
        {
            _ready.Enqueue() = item;
        }
        else if (!TryPostItem(in item))
        {
            // The loop is closed: the continuation can never run on it. Drop it, as asyncio drops callbacks of a closed loop.
        }
    }

    /// <summary>The loop's own synchronization context (<see cref="OwnContext"/>), and the base of each task's context.</summary>
    /// <remarks>Each subclass holds one field: every task has a context, so each byte counts (W3).</remarks>
    internal abstract class LoopSynchronizationContext : SynchronizationContext
    {
        // Blocking waits on the loop thread (Monitor.Wait, WaitHandle waits, and so Task.Wait, .Result and
        // GetAwaiter().GetResult()) call Wait below while this context is current, so the watchdog can say that a
        // blocked step is stuck in a synchronous wait. (Checked on Linux and Windows, .NET 10.)
        protected LoopSynchronizationContext() => ThreadContexts.RequireWaitNotification(this);

        public abstract EventLoop Loop { get; }

        /// <summary>The task whose steps run in this context; null for the loop's own.</summary>
        public abstract AioTask? Task { get; }

        public override void Post(SendOrPostCallback d, object? state)
        {
            ArgumentNullException.ThrowIfNull(d);
            Loop.PostFromContext(d, state, Task);
        }

        public override void Send(SendOrPostCallback d, object? state)
        {
            ArgumentNullException.ThrowIfNull(d);
            if (Environment.CurrentManagedThreadId == Loop.OwnerThreadId)
            {
                d(state);
                return;
            }
            using var done = new ManualResetEventSlim();
            Exception? error = null;
            Loop.CallSoonThreadSafe(() =>
            {
                try
                {
                    d(state);
                }
                catch (Exception e)
                {
                    error = e;
                }
                finally
                {
                    done.Set();
                }
            });
            done.Wait();
            if (error is not null)
            {
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(error);
            }
        }

        public override SynchronizationContext CreateCopy() => this;

        public override int Wait(IntPtr[] waitHandles, bool waitAll, int millisecondsTimeout)
        {
            EventLoop loop = Loop;
            if (!loop.IsRunningOnThisThread)
            {
                return base.Wait(waitHandles, waitAll, millisecondsTimeout);
            }
            loop._syncWaits++;
            try
            {
                return base.Wait(waitHandles, waitAll, millisecondsTimeout);
            }
            finally
            {
                loop._syncWaits--;
            }
        }
    }

    /// <summary>The context installed for plain callbacks: posts come back as plain callbacks.</summary>
    private sealed class OwnContext(EventLoop loop) : LoopSynchronizationContext
    {
        public override EventLoop Loop => loop;

        public override AioTask? Task => null;
    }

    private sealed class LoopTaskScheduler(EventLoop loop) : TaskScheduler
    {
        protected override void QueueTask(Task task) =>
            loop.PostItem(new ReadyItem { Kind = ReadyKind.Action, Callback = s_runTask, State = (task, this) });

        private static readonly Action<object?> s_runTask = static s =>
        {
            var (task, scheduler) = ((Task, LoopTaskScheduler))s!;
            scheduler.TryExecuteTask(task);
        };

        protected override bool TryExecuteTaskInline(Task task, bool taskWasPreviouslyQueued) =>
            Environment.CurrentManagedThreadId == loop.OwnerThreadId && loop.IsRunning && TryExecuteTask(task);

        protected override IEnumerable<Task>? GetScheduledTasks() => null;

        public override int MaximumConcurrencyLevel => 1;
    }
}
