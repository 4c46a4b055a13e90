// EventLoop: the heart of Aio.
//
// Map of this type (one partial file per facet; all of them, eleven):
//   EventLoop.cs             – state, construction, running/stopping/closing, one iteration (asyncio's _run_once)
//   EventLoop.Timers.cs      – CallLater/CallAt, the timer heap, virtual-time jumps
//   EventLoop.ThreadSafe.cs  – CallSoonThreadSafe, the inbox, the SynchronizationContext/TaskScheduler doors
//   EventLoop.Tasks.cs       – task steps, Aio suspensions, cancellation delivery, the task registry
//   EventLoop.Errors.cs      – the exception handler, debug mode, slow-callback logging
//   EventLoop.Diagnostics.cs – the hang detector (deadlock reports) and DumpTasks
//   EventLoop.Shutdown.cs    – shutdown hooks the runner awaits before closing the loop
//   EventLoop.Executor.cs    – RunInExecutor, the default executor and its shutdown
//   EventLoop.Signals.cs     – AddSignalHandler/RemoveSignalHandler
//   EventLoop.Watchdog.cs    – the blocked-loop watchdog and SIGUSR1 task dumps
//   EventLoop.Net.cs         – the networking entry points (create_server, create_connection, start_tls, …)
//   Time/LoopTimeProvider.cs – the TimeProvider facet (EventLoop.TimeProvider) and its timers
//
// Design note. One thread owns a loop. Work reaches it three ways: the ready ring (CallSoon, task
// steps, future callbacks – FIFO, never inline), the timer heap (CallLater, sleeps, deadlines), and
// the inbox (CallSoonThreadSafe and continuations posted from other threads). One iteration:
//   1. timeout = 0 if anything is ready or stopping; else until the earliest live timer; else forever
//      (a VirtualClock jumps to that timer instead when nothing could wake the loop from outside);
//   2. poll the IPoller (I/O handlers run here);
//   3. move due timers to the ready ring, deadline order, ties in scheduling order;
//   4. drain the inbox into the ready ring;
//   5. run exactly the entries that were ready at this point; what they schedule runs next time.
// A callback's exception goes to the exception handler and the loop goes on. A callback runs in the
// ExecutionContext captured when it was scheduled (none to switch to when that is the loop's own); one that
// leaves the thread's context changed (set an AsyncLocal) gets the run's context put back after it, so no
// AsyncLocal leaks into the next callback or, at the end of the run, into its caller.
using System.Diagnostics;
using Aio.Internal;
using Aio.Polling;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Aio;

/// <summary>
/// A single-threaded event loop with asyncio's semantics: callbacks, timers, tasks, I/O.
/// </summary>
/// <remarks>
/// <para><b>Thread rule.</b> A loop belongs to one thread: the thread that created it until it first
/// runs, then the thread that runs it. Every member that schedules, runs, stops or closes work, creates
/// tasks, or touches I/O, signals or the executor checks this and throws <see cref="InvalidOperationException"/>
/// when called from elsewhere (as does setting <see cref="ExceptionHandler"/>). Any thread may call
/// <see cref="CallSoonThreadSafe(Action)"/>, <see cref="Time"/>, <see cref="IsRunning"/>,
/// <see cref="IsClosed"/>, <see cref="SynchronizationContext"/> and <see cref="TaskScheduler"/>
/// (their posts), and <see cref="TimeProvider"/>. These do not check the thread, and are meant for the
/// loop's thread or for configuring the loop before it runs: the settings <see cref="Debug"/>,
/// <see cref="HangDetection"/>, <see cref="SlowCallbackDuration"/>, <see cref="ExecutorShutdownTimeout"/>,
/// <see cref="WatchdogThreshold"/>, <see cref="TaskDumpOnSignal"/> and <see cref="Logger"/>; the reads
/// <see cref="Clock"/>, <see cref="OwnerThreadId"/> and <see cref="PollerBackend"/>; and
/// <see cref="CallExceptionHandler"/> and <see cref="DefaultExceptionHandler"/>.</para>
/// <para>The objects of a loop – futures, tasks, handles, and the primitives of <c>Aio.Sync</c> – follow the same
/// rule, and check it the same way every time: a member that acts or reads a result (<c>Result()</c>,
/// <c>Exception()</c>, <c>Cancel</c>, <c>Set</c>, <c>PutNowait</c>, setting a task's <c>Name</c>, …) throws on
/// any thread but the loop's. Only plain state reads may be called from any thread, and may be stale there:
/// <c>Loop</c>, <c>Done</c>, <c>Cancelled</c>, a task's <c>Name</c>, a primitive's <c>IsSet</c>/<c>Locked</c>/<c>Count</c>,
/// and <c>ToString()</c>. A primitive created on a loop's thread belongs to that loop from the start; one created
/// elsewhere belongs to the first loop it is used on. A <see cref="Handle"/> from
/// <see cref="CallSoonThreadSafe(Action)"/> may be cancelled from any thread.</para>
/// <para>Everything Aio runs on the loop goes through its ready ring in FIFO order; nothing runs
/// inline, so asyncio's ordering guarantees hold.</para>
/// </remarks>
[DebuggerDisplay("{ToString(),nq}")]
public sealed partial class EventLoop : IDisposable
{
    [ThreadStatic] private static EventLoop? t_running;

    private static int s_runningLoops;   // loops running now, on any thread (for error messages)

    private static int s_loopIds;

    private readonly IClock _clock;
    private readonly VirtualClock? _virtualClock;     // _clock when it is virtual; null otherwise
    private readonly ReadyQueue _ready = new();
    private readonly int _id = Interlocked.Increment(ref s_loopIds);
    private IPoller? _poller;                          // created on first use; null after Close
    private int _ownerThreadId = Environment.CurrentManagedThreadId;
    private Thread? _thread;                 // the thread of the current (or last) run
    private bool _running;
    private bool _stopping;
    private volatile bool _closed;

    /// <summary>The network the Aio.Net entry points use instead of the kernel's (Aio.LowLevel.LoopNetwork); null: real sockets.</summary>
    internal LowLevel.INetworkProvider? NetworkProvider;

    /// <summary>Creates a loop on the real monotonic clock with the default poller of this OS.</summary>
    public EventLoop() : this(MonotonicClock.Instance) { }

    /// <summary>Creates a loop on <paramref name="clock"/>: a <see cref="MonotonicClock"/> or a <see cref="VirtualClock"/> for tests.</summary>
    public EventLoop(IClock clock) : this(clock, null) { }

    /// <summary>Creates a loop on <paramref name="clock"/> with a named poller back end ("epoll" or "portable").</summary>
    /// <param name="clock">The loop's clock.</param>
    /// <param name="poller">The I/O back end: "epoll" (Linux only) or "portable"; null picks the default (AIO_POLLER, then epoll on Linux).</param>
    public EventLoop(IClock clock, string? poller)
    {
        ArgumentNullException.ThrowIfNull(clock);
        _clock = clock;
        _virtualClock = clock as VirtualClock;
        PollerName = poller;
        _syncContext = new OwnContext(this);
        _scheduler = new LoopTaskScheduler(this);
        _timeProvider = new LoopTimeProvider(this);
        Debug = DebugFromEnvironment();
    }

    /// <summary>The loop running on the calling thread.</summary>
    /// <exception cref="InvalidOperationException">No loop is running on this thread.</exception>
    public static EventLoop GetRunningLoop()
    {
        EventLoop? loop = t_running;
        if (loop is null)
        {
            ThrowHelper.NoRunningLoop(nameof(GetRunningLoop));
        }
        return loop;
    }

    /// <summary>The loop running on the calling thread, or null.</summary>
    public static EventLoop? TryGetRunningLoop() => t_running;

    /// <summary><see cref="GetRunningLoop"/> for a public member that needs the running loop: the error names <paramref name="member"/>.</summary>
    internal static EventLoop RunningLoopFor(string member)
    {
        EventLoop? loop = t_running;
        if (loop is null)
        {
            ThrowHelper.NoRunningLoop(member);
        }
        return loop;
    }

    /// <summary>True while some loop runs on some thread (racy; for error messages).</summary>
    internal static bool AnyLoopRunning => Volatile.Read(ref s_runningLoops) > 0;

    /// <summary>True while <see cref="RunForever"/> or <see cref="RunUntilComplete(Func{Task})"/> runs. Any thread.</summary>
    public bool IsRunning => _running;

    /// <summary>True after <see cref="Close"/>. Any thread.</summary>
    public bool IsClosed => _closed;

    /// <summary>The clock the loop reads its time from.</summary>
    public IClock Clock => _clock;

    /// <summary>The managed thread id of the thread the loop belongs to now.</summary>
    public int OwnerThreadId => _ownerThreadId;

    /// <summary>The thread running the loop, from the start of its first run (null before).</summary>
    internal Thread? LoopThread => _thread;

    /// <summary>True when the calling thread is running this loop now (a thread-static read).</summary>
    internal bool IsRunningOnThisThread => ReferenceEquals(t_running, this);

    internal string? PollerName { get; }

    /// <summary>The ExecutionContext of the loop thread when the loop was created or last started: callbacks scheduled in it run without a context switch.</summary>
    internal ExecutionContext? BaseExecutionContext { get; private set; } = ExecutionContext.Capture();

    /// <summary>A 64 KiB scratch buffer shared by every synchronous read on this loop's thread (reactor sockets, pipes): a read lands here and its protocol sees a span of it. Reads are one at a time, so one buffer serves them all.</summary>
    internal byte[] ReceiveBuffer => _receiveBuffer ??= GC.AllocateUninitializedArray<byte>(64 * 1024);

    private byte[]? _receiveBuffer;

    internal IPoller Poller => _poller ??= PollerFactory.Create(OnPollerHandlerError, PollerName);

    /// <summary>The name of the I/O back end in use ("epoll" or "portable").</summary>
    public string PollerBackend => Poller.Name;

    /// <summary>The loop's time in seconds: its clock's monotonic reading. Any thread (for a virtual clock, read it on the loop thread).</summary>
    public double Time() => _clock.Now();

    /// <summary>The logger for the loop's own messages (errors, slow callbacks, leaked tasks). Defaults to none: errors then go to standard error.</summary>
    public ILogger Logger { get; set; } = NullLogger.Instance;

    // ----------------------------------------------------------------- scheduling

    /// <summary>Schedules <paramref name="callback"/> to run on the loop's next iteration, after everything already scheduled (FIFO).</summary>
    /// <returns>A handle whose <see cref="Handle.Cancel"/> keeps the callback from running.</returns>
    public Handle CallSoon(Action callback)
    {
        ArgumentNullException.ThrowIfNull(callback);
        CheckThread(nameof(CallSoon));
        CheckClosed(nameof(CallSoon));
        ref ReadyItem item = ref _ready.Enqueue();
        item.Kind = ReadyKind.CallSoon;
        item.Callback = callback;
        item.State = CaptureContext();
        return NextHandle(callback);
    }

    /// <summary>Schedules <paramref name="callback"/> with <paramref name="state"/> to run on the loop's next iteration (FIFO).</summary>
    /// <remarks>No allocation when <typeparamref name="TState"/> is a reference type and the caller runs in the loop's own ExecutionContext.</remarks>
    public Handle CallSoon<TState>(Action<TState> callback, TState state)
    {
        ArgumentNullException.ThrowIfNull(callback);
        CheckThread(nameof(CallSoon));
        CheckClosed(nameof(CallSoon));
        ExecutionContext? context = CaptureContext();
        ref ReadyItem item = ref _ready.Enqueue();
        item.Kind = ReadyKind.CallSoonState;
        item.Callback = callback;
        // Rare (the caller set an AsyncLocal): the state travels with the context to run in.
        item.State = context is null ? state : new StateInContext(StateInvoker<TState>.Instance, callback, state, context);
        item.Arg = StateInvoker<TState>.Index;
        return NextHandle(callback);
    }

    // CallSoon handles are numbered in scheduling order and their ring entries run in that order, so the
    // loop tracks turns with two counters and the blocks between them (Handle.cs).
    private long _nextHandleId;          // the number of the next CallSoon handle
    private long _handleTurn;            // the number of the CallSoon entry whose turn comes next; below it, turns have passed
    private HandleBlock? _handleBlock;   // the block of the latest handle; a new one every HandleBlock.Size handles
    private HandleBlock? _turnBlock;     // the block of the handle whose turn came last (or comes next); linked to later blocks by Next

    private Handle NextHandle(Delegate callback)
    {
        long id = _nextHandleId++;
        HandleBlock? block = _handleBlock;
        if (block is null || id - block.FirstId >= HandleBlock.Size)
        {
            var next = new HandleBlock(this, id);
            if (block is null)
            {
                _turnBlock = next;
            }
            else
            {
                block.Next = next;
            }
            _handleBlock = block = next;
        }
        return new Handle(block, id, callback);
    }

    /// <summary>A CallSoon entry's turn: false if its handle was cancelled (skip it).</summary>
    private bool TakeHandleTurn()
    {
        long id = _handleTurn++;
        HandleBlock block = _turnBlock!;
        if (id - block.FirstId >= HandleBlock.Size)
        {
            // Leave the block; unlink it so a handle kept by the user does not keep later blocks alive.
            _turnBlock = block.Next!;
            block.Next = null;
            block = _turnBlock;
        }
        return !block.IsCancelled(id);
    }

    /// <summary>The handle of the CallSoon entry whose turn came last (for error reports).</summary>
    private Handle CurrentTurnHandle(Delegate callback) => new(_turnBlock!, _handleTurn - 1, callback);

    internal void CancelHandle(HandleBlock block, long id)
    {
        CheckThread("Handle.Cancel");
        if (id >= _handleTurn)
        {
            block.MarkCancelled(id); // skipped at its turn; once the turn has passed, the callback ran (or was skipped) and nothing changes
        }
    }

    /// <summary>The caller's ExecutionContext if a callback must run in it; null when it is the loop's own (no switch needed).</summary>
    internal ExecutionContext? CaptureContext()
    {
        ExecutionContext? context = ExecutionContext.Capture();
        return ReferenceEquals(context, BaseExecutionContext) ? null : context;
    }

    /// <summary>Calls <paramref name="callback"/> in <paramref name="context"/>, or directly when null.</summary>
    internal static void RunInContext(Action callback, ExecutionContext? context)
    {
        if (context is null)
        {
            callback();
        }
        else
        {
            ExecutionContext.Run(context, s_runAction, callback);
        }
    }

    private static readonly ContextCallback s_runAction = static s => ((Action)s!)();

    // The loop thread's context while a run goes on: what it held when the run started (the caller's, to give
    // back at the end), and that context as ThreadContexts.Raw reads it, for the check after each callback.
    private ExecutionContext? _runContext;
    private ExecutionContext? _runContextRaw;

    /// <summary>
    /// A callback run without a context switch (scheduled in the loop's own context) may still set an AsyncLocal
    /// and leave it set: put the run's context back, so the next callback and the caller of the run do not see it.
    /// One reference compare per callback.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private void KeepRunContext()
    {
        if (!ReferenceEquals(ThreadContexts.Raw(_thread!), _runContextRaw))
        {
            RestoreRunContext();
        }
    }

    private void RestoreRunContext()
    {
        if (_runContext is { } context)
        {
            ExecutionContext.Restore(context);
        }
    }

    /// <summary>A CallSoon&lt;TState&gt; callback scheduled outside the loop's own ExecutionContext: all it needs to run in that context.</summary>
    private sealed class StateInContext(StateInvoker invoker, object callback, object? state, ExecutionContext context)
    {
        public void Run() => ExecutionContext.Run(context, static s => ((StateInContext)s!).Invoke(), this);

        private void Invoke() => invoker.Invoke(callback, state);
    }

    /// <summary>A callback's name for logs: <c>Type.Method</c>.</summary>
    internal static string DescribeCallback(Delegate callback)
    {
        if (callback.Target is DoneCallbackInContext wrapped)
        {
            callback = wrapped.Callback;
        }
        return callback.Method.DeclaringType is { } t ? $"{t.Name}.{callback.Method.Name}" : callback.Method.Name;
    }

    internal void EnqueueHandle(IScheduledCallback h)
    {
        ref ReadyItem item = ref _ready.Enqueue();
        item.Kind = ReadyKind.Handle;
        item.State = h;
    }

    /// <summary>Queues an internal callback on the ready ring without a handle (no allocation). Loop thread only.</summary>
    internal void CallSoonInternal(Action<object?> callback, object? state)
    {
        ref ReadyItem item = ref _ready.Enqueue();
        item.Kind = ReadyKind.Action;
        item.Callback = callback;
        item.State = state;
    }

    internal void EnqueueListener(IFutureListener listener, AioFuture future, int arg)
    {
        ref ReadyItem item = ref _ready.Enqueue();
        item.Kind = ReadyKind.Listener;
        item.Callback = listener;
        item.State = future;
        item.Arg = arg;
    }

    internal void EnqueueDoneCallback(Action<AioFuture> callback, AioFuture future)
    {
        ref ReadyItem item = ref _ready.Enqueue();
        item.Kind = ReadyKind.DoneCallback;
        item.Callback = callback;
        item.State = future;
    }

    internal int ReadyCount => _ready.Count;

    // ----------------------------------------------------------------- running

    /// <summary>
    /// Runs the loop until <see cref="Stop"/> is called. A <see cref="Stop"/> before the call makes it
    /// run one iteration and return; a <see cref="Stop"/> during it lets the current batch of callbacks
    /// finish, and what they schedule runs on the next run.
    /// </summary>
    public void RunForever()
    {
        CheckClosed(nameof(RunForever));
        if (_running)
        {
            ThrowHelper.LoopAlreadyRunning();
        }
        if (t_running is not null)
        {
            ThrowHelper.AnotherLoopRunning();
        }
        // The thread that runs a loop owns it from now on (a loop may be created on one thread and run on another).
        _ownerThreadId = Environment.CurrentManagedThreadId;
        _thread = Thread.CurrentThread;
        BaseExecutionContext = ExecutionContext.Capture();
        _runContext = ThreadContexts.Current(_thread);
        _runContextRaw = ThreadContexts.Raw(_thread);
        SynchronizationContext? oldContext = SynchronizationContext.Current;
        _running = true;
        t_running = this;
        Interlocked.Increment(ref s_runningLoops);
        try
        {
            SynchronizationContext.SetSynchronizationContext(_syncContext);
            OnRunStarting();
            while (true)
            {
                RunOnce();
                if (_stopping)
                {
                    break;
                }
            }
        }
        finally
        {
            OnRunStopped();
            Interlocked.Decrement(ref s_runningLoops);
            _stopping = false;
            _running = false;
            t_running = null;
            _currentTask = null;
            SynchronizationContext.SetSynchronizationContext(oldContext);
            KeepRunContext(); // the caller gets its context back as it was
        }
    }

    /// <summary>Runs <paramref name="main"/> as a task on this loop until it completes, and returns its result or throws its exception.</summary>
    /// <exception cref="InvalidOperationException">The loop was stopped before the task completed.</exception>
    public T RunUntilComplete<T>(Func<Task<T>> main)
    {
        ArgumentNullException.ThrowIfNull(main);
        TakeOwnershipIfIdle();
        AioTask<T> task = CreateTask(main);
        RunUntilComplete(task);
        return task.Result();
    }

    /// <summary>Runs <paramref name="main"/> as a task on this loop until it completes; throws its exception if it failed.</summary>
    /// <exception cref="InvalidOperationException">The loop was stopped before the task completed.</exception>
    public void RunUntilComplete(Func<Task> main)
    {
        ArgumentNullException.ThrowIfNull(main);
        TakeOwnershipIfIdle();
        AioTask task = CreateTask(main);
        RunUntilComplete(task);
        task.Result();
    }

    /// <summary>Runs the loop until <paramref name="future"/> is done (it must belong to this loop); does not read its result.</summary>
    /// <exception cref="InvalidOperationException">The loop was stopped before the future completed.</exception>
    public void RunUntilComplete(AioFuture future)
    {
        ArgumentNullException.ThrowIfNull(future);
        TakeOwnershipIfIdle();
        CheckClosed(nameof(RunUntilComplete));
        if (!ReferenceEquals(future.Loop, this))
        {
            throw new ArgumentException($"{future} belongs to {future.Loop}, not to {this}.", nameof(future));
        }
        if (future.Done)
        {
            return;
        }
        var stopper = new StopOnDone(this);
        future.AddListener(stopper, 0);
        try
        {
            RunForever();
        }
        finally
        {
            future.RemoveListener(stopper);
        }
        if (!future.Done)
        {
            ThrowHelper.StoppedBeforeComplete();
        }
    }

    private sealed class StopOnDone(EventLoop loop) : IFutureListener
    {
        public void OnFutureDone(AioFuture future, int arg) => loop.Stop();
    }

    /// <summary>Runs one iteration without blocking (tests: deliver what finalizers or other threads posted).</summary>
    internal void RunOnceForTests()
    {
        Stop();
        RunForever();
    }

    /// <summary>Asks the loop to stop: before a run, the next run does one iteration; during a run, the current batch finishes first.</summary>
    public void Stop()
    {
        CheckThread(nameof(Stop));
        _stopping = true;
    }

    /// <summary>
    /// Closes the loop: drops pending callbacks and timers, releases the poller, and reports tasks still
    /// pending and task exceptions nobody retrieved. Idempotent; afterwards every scheduling call throws.
    /// </summary>
    /// <exception cref="InvalidOperationException">The loop is running.</exception>
    public void Close()
    {
        if (_closed)
        {
            return;
        }
        CheckThread(nameof(Close));
        if (_running)
        {
            ThrowHelper.CloseWhileRunning();
        }
        ReportLeaksAtClose();
        _closed = true;
        _ready.Clear();
        _timers.Clear();
        lock (_inboxLock)
        {
            _inbox.Clear();
        }
        _poller?.Dispose();
        _poller = null;
        OnClosed?.Invoke();
    }

    /// <summary>Internal hook for components that must release resources when the loop closes (executor, signal registrations).</summary>
    internal event Action? OnClosed;

    /// <summary>Same as <see cref="Close"/>.</summary>
    public void Dispose() => Close();

    // ----------------------------------------------------------------- one iteration

    private void RunOnce()
    {
        IPoller poller = Poller;

        // 1. How long may we block?
        int timeoutMs;
        if (_ready.Count > 0 || _stopping || InboxHasWork)
        {
            timeoutMs = 0;
            _idleSince = 0; // busy: a later idle spell of a virtual clock starts its threshold afresh
        }
        else
        {
            timeoutMs = ComputeTimeoutMs(poller);
        }

        if (timeoutMs == -1)
        {
            // Nothing ready and no timer: unless I/O or another thread wakes us, this blocks forever.
            OnIdleWithoutTimers();
        }

        // 2. Poll: I/O handlers run here.
        if (timeoutMs != 0 || poller.RegistrationCount > 0 || InboxHasWork)
        {
            if (poller.Poll(timeoutMs) > 0)
            {
                _jumpAfterForeignWait = false; // something arrived while virtual time waited: no jump this time
                _idleSince = 0;
            }
        }

        // 3. Due timers into the ready ring, 4. the inbox.
        MoveDueTimers();
        DrainInbox();

        // 5. Run exactly what is ready now.
        int n = _ready.Count;
        bool debug = Debug;
        LoopWatchdog? watchdog = _watchdog;
        Thread thread = _thread!;
        ExecutionContext? runContext = _runContextRaw;
        for (int i = 0; i < n; i++)
        {
            ReadyItem item = _ready.Dequeue();
            // Heartbeat for the watchdog (EventLoop.Watchdog.cs; on by default): a counter, and what runs when it changes.
            watchdog?.Beat(item.Task ?? item.Callback ?? item.State);
            if (debug)
            {
                RunItemTimed(in item);
            }
            else
            {
                RunItem(in item);
            }
            if (!ReferenceEquals(ThreadContexts.Raw(thread), runContext))
            {
                RestoreRunContext(); // the item left an AsyncLocal set (KeepRunContext)
            }
        }
        watchdog?.Idle();
    }

    private void RunItem(in ReadyItem item)
    {
        AioTask? task = item.Task;
        try
        {
            if (task is null)
            {
                _currentTask = null;
                InstallContext(_syncContext);
                Dispatch(in item);
            }
            else
            {
                RunTaskStep(task, in item);
            }
        }
        catch (Exception e)
        {
            _currentTask = null;
            ReportCallbackException(in item, e);
        }
    }

    /// <summary>Installs <paramref name="context"/> as the loop thread's SynchronizationContext unless it already is.</summary>
    internal void InstallContext(SynchronizationContext context) => ThreadContexts.Install(_thread!, context);

    internal void Dispatch(in ReadyItem item)
    {
        switch (item.Kind)
        {
            case ReadyKind.CallSoonState:
                if (TakeHandleTurn())
                {
                    if (item.State is StateInContext inContext)
                    {
                        inContext.Run();
                    }
                    else
                    {
                        StateInvoker.Get(item.Arg).Invoke(item.Callback!, item.State);
                    }
                }
                break;
            case ReadyKind.CallSoon:
                if (TakeHandleTurn())
                {
                    RunInContext((Action)item.Callback!, (ExecutionContext?)item.State);
                }
                break;
            case ReadyKind.Action:
                ((Action<object?>)item.Callback!)(item.State);
                break;
            case ReadyKind.Post:
                ((SendOrPostCallback)item.Callback!)(item.State);
                break;
            case ReadyKind.Handle:
                ((IScheduledCallback)item.State!).Run();
                break;
            case ReadyKind.DoneCallback:
                ((Action<AioFuture>)item.Callback!)((AioFuture)item.State!);
                break;
            case ReadyKind.Listener:
                ((IFutureListener)item.Callback!).OnFutureDone((AioFuture)item.State!, item.Arg);
                break;
            case ReadyKind.CoroutineStep:
                item.Task!.MoveNextCoroutine();
                break;
            case ReadyKind.StartTask:
                item.Task!.Start();
                break;
        }
    }

    /// <summary>
    /// Called when the loop is about to block with nothing ready and no live timer (the hang detector's
    /// hook; implemented in the diagnostics part of the loop). It may throw to end the run.
    /// </summary>
    partial void OnIdleWithoutTimers();

    /// <summary>Called on the loop thread when a run starts and when it ends (watchdog, SIGUSR1 task dumps; EventLoop.Watchdog.cs).</summary>
    partial void OnRunStarting();

    /// <inheritdoc cref="OnRunStarting"/>
    partial void OnRunStopped();

    // ----------------------------------------------------------------- checks

    /// <summary>Throws unless called on the loop's thread. Cheap; on in Release too.</summary>
    internal void CheckThread(string member)
    {
        if (!ReferenceEquals(t_running, this) && Environment.CurrentManagedThreadId != _ownerThreadId) // running here: the cheap answer
        {
            ThrowHelper.WrongThread(this, member);
        }
    }

    /// <summary>A loop that is not running may be run by another thread, which then owns it.</summary>
    private void TakeOwnershipIfIdle()
    {
        if (!_running && t_running is null)
        {
            _ownerThreadId = Environment.CurrentManagedThreadId;
        }
    }

    internal void CheckClosed(string member)
    {
        if (_closed)
        {
            ThrowHelper.LoopClosed(member);
        }
    }

    /// <summary>asyncio-style description: <c>&lt;EventLoop#1 running=True closed=False debug=False&gt;</c>.</summary>
    public override string ToString() => $"<EventLoop#{_id} running={_running} closed={_closed} debug={Debug}>";
}

/// <summary>
/// A done callback added outside the loop's own ExecutionContext (an AsyncLocal was set): a delegate of the
/// same type that runs the callback in the context captured by <see cref="AioFuture.AddDoneCallback"/>.
/// </summary>
internal sealed class DoneCallbackInContext
{
    private readonly ExecutionContext _context;

    private DoneCallbackInContext(Action<AioFuture> callback, ExecutionContext context)
    {
        Callback = callback;
        _context = context;
    }

    /// <summary>The callback as the user passed it.</summary>
    public Action<AioFuture> Callback { get; }

    /// <summary><paramref name="callback"/> itself when the caller runs in the loop's own context (no allocation); else a wrapper that switches.</summary>
    public static Action<AioFuture> Wrap(EventLoop loop, Action<AioFuture> callback) =>
        loop.CaptureContext() is { } context ? new DoneCallbackInContext(callback, context).Invoke : callback;

    /// <summary>The user's callback behind a registered target (wrapped or not); null for other targets.</summary>
    public static Action<AioFuture>? Unwrap(object? target) =>
        target is Action<AioFuture> { Target: DoneCallbackInContext wrapped } ? wrapped.Callback : target as Action<AioFuture>;

    private void Invoke(AioFuture future) =>
        ExecutionContext.Run(_context, static s =>
        {
            var (self, f) = ((DoneCallbackInContext, AioFuture))s!;
            self.Callback(f);
        }, (this, future));
}
