using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using Aio.Internal;

namespace Aio;

/// <summary>The state of an <see cref="AioFuture"/>.</summary>
internal enum FutureState : byte
{
    Pending,
    Succeeded,
    Faulted,
    Cancelled,
}

/// <summary>
/// A result that will be set later, on one loop (asyncio's <c>Future</c>). Awaiting it suspends the
/// awaiting task; its done callbacks run through the loop's ready ring, in registration order, never inline.
/// </summary>
/// <remarks>
/// A future belongs to its loop: use it on the loop's thread only. A future whose exception is never
/// retrieved (awaited, or read with <see cref="Exception"/>) is reported to the loop's exception handler
/// when it is collected or when the loop closes. This non-generic type is the base of
/// <see cref="AioFuture{T}"/> and of every <see cref="AioTask"/>; on its own it carries no value.
/// </remarks>
[DebuggerDisplay("{ToString(),nq}")]
public class AioFuture : IWaitAbort
{
    private protected readonly EventLoop _loop;
    private protected FutureState _state;
    private protected Exception? _error;             // Faulted: the exception; Cancelled: a CancelledError carrying the message
    private bool _unretrieved;                       // Faulted and the exception not retrieved yet (its tracker is in the loop's table)

    // Callbacks, in registration order. Most futures have one waiter: it is stored inline, field by field (a
    // FutureCallback field would be padded to 16 bytes on every task). From the second on, _firstTarget
    // holds a List<FutureCallback> of all of them and _firstKind is Many.
    private object? _firstTarget;
    private int _firstArg;
    private CallbackKind _firstKind;

    internal AioFuture(EventLoop loop) => _loop = loop;

    /// <summary>Creates a pending future on the running loop (prefer <see cref="EventLoop.CreateFuture"/>).</summary>
    /// <exception cref="InvalidOperationException">No loop is running on this thread.</exception>
    public AioFuture() : this(EventLoop.GetRunningLoop()) { }

    /// <summary>The loop this future belongs to.</summary>
    public EventLoop Loop => _loop;

    /// <summary>True once the future has a result, an exception, or was cancelled.</summary>
    public bool Done => _state != FutureState.Pending;

    /// <summary>True if the future (or task) ended cancelled.</summary>
    public bool Cancelled => _state == FutureState.Cancelled;

    internal bool IsFaulted => _state == FutureState.Faulted;

    internal bool IsSucceeded => _state == FutureState.Succeeded;

    /// <summary>
    /// The exception the future ended with, or null if it succeeded; marks the exception as retrieved.
    /// </summary>
    /// <exception cref="CancelledError">The future was cancelled.</exception>
    /// <exception cref="InvalidStateError">The future is not done yet.</exception>
    public Exception? Exception()
    {
        _loop.CheckThread(nameof(Exception));
        switch (_state)
        {
            case FutureState.Pending:
                ThrowHelper.FutureNotDone(this);
                return null;
            case FutureState.Cancelled:
                throw MakeCancelledError();
            case FutureState.Faulted:
                MarkRetrieved();
                return _error;
            default:
                return null;
        }
    }

    /// <summary>Rethrows the future's exception, or throws <see cref="CancelledError"/>; returns if it succeeded. Marks the exception retrieved.</summary>
    /// <exception cref="InvalidStateError">The future is not done yet.</exception>
    public void ThrowIfFailed()
    {
        _loop.CheckThread(nameof(ThrowIfFailed));
        switch (_state)
        {
            case FutureState.Succeeded:
                return;
            case FutureState.Pending:
                ThrowHelper.FutureNotDone(this);
                return;
            case FutureState.Cancelled:
                throw MakeCancelledError();
            default:
                MarkRetrieved();
                ExceptionDispatchInfo.Throw(_error!);
                return;
        }
    }

    /// <summary>A fresh CancelledError with the cancellation's message, for each await of a cancelled future (as asyncio raises a new one each time).</summary>
    private protected CancelledError MakeCancelledError() => new(_error?.Message);

    /// <summary>A fresh <see cref="CancelledError"/> with this cancelled future's message (for combinators reporting it).</summary>
    internal CancelledError MakeCancelledErrorInternal() => MakeCancelledError();

    /// <summary>
    /// Cancels the future: a pending future becomes cancelled, schedules its callbacks, and returns true;
    /// a done future is left as it is and false is returned. A task overrides this (see <see cref="AioTask.Cancel"/>).
    /// </summary>
    public virtual bool Cancel(string? message = null)
    {
        _loop.CheckThread(nameof(Cancel));
        if (_state != FutureState.Pending)
        {
            return false;
        }
        _error = new CancelledError(message);
        Complete(FutureState.Cancelled);
        return true;
    }

    /// <summary>Marks a plain future done with no value (for <c>AioFuture</c> used as a signal). Tasks refuse it.</summary>
    /// <exception cref="InvalidStateError">The future is already done.</exception>
    public void SetResult()
    {
        CheckSettable(nameof(SetResult));
        Complete(FutureState.Succeeded);
    }

    /// <summary>Ends the future with <paramref name="exception"/>; awaiting it rethrows it.</summary>
    /// <exception cref="InvalidStateError">The future is already done.</exception>
    public void SetException(Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        CheckSettable(nameof(SetException));
        if (exception is OperationCanceledException)
        {
            // asyncio: a CancelledError set as an exception cancels the future.
            _error = exception as CancelledError ?? new CancelledError(exception.Message, exception);
            Complete(FutureState.Cancelled);
            return;
        }
        _error = exception;
        Complete(FutureState.Faulted);
    }

    private protected void CheckSettable(string member)
    {
        _loop.CheckThread(member);
        if (this is AioTask)
        {
            ThrowHelper.TaskResultSet(this);
        }
        if (_state != FutureState.Pending)
        {
            ThrowHelper.FutureAlreadyDone(this);
        }
    }

    /// <summary>
    /// Adds a callback that runs, through the loop's ready ring, once the future is done (at once on the
    /// next iteration if it already is). Callbacks run in registration order, each in the
    /// <see cref="ExecutionContext"/> of the code that added it.
    /// </summary>
    public void AddDoneCallback(Action<AioFuture> callback)
    {
        ArgumentNullException.ThrowIfNull(callback);
        _loop.CheckThread(nameof(AddDoneCallback));
        AddCallback(new FutureCallback { Target = DoneCallbackInContext.Wrap(_loop, callback), Kind = CallbackKind.Done });
    }

    /// <summary>Removes every registration of <paramref name="callback"/>; returns how many were removed.</summary>
    public int RemoveDoneCallback(Action<AioFuture> callback)
    {
        _loop.CheckThread(nameof(RemoveDoneCallback));
        return RemoveCallbacksWhere(t => ReferenceEquals(DoneCallbackInContext.Unwrap(t), callback));
    }

    internal void AddListener(IFutureListener listener, int arg) =>
        AddCallback(new FutureCallback { Target = listener, Arg = arg, Kind = CallbackKind.Listener });

    internal void RemoveListener(IFutureListener listener) => RemoveCallbacks(listener);

    private void AddCallback(in FutureCallback cb)
    {
        if (_state != FutureState.Pending)
        {
            Schedule(in cb);
            return;
        }
        if (_firstTarget is null)
        {
            (_firstTarget, _firstArg, _firstKind) = (cb.Target, cb.Arg, cb.Kind);
            return;
        }
        if (_firstKind != CallbackKind.Many)
        {
            _firstTarget = new List<FutureCallback>(2) { new() { Target = _firstTarget, Arg = _firstArg, Kind = _firstKind } };
            _firstKind = CallbackKind.Many;
        }
        ((List<FutureCallback>)_firstTarget).Add(cb);
    }

    private int RemoveCallbacks(object target) => RemoveCallbacksWhere(t => ReferenceEquals(t, target));

    private protected int RemoveCallbacksWhere(Func<object?, bool> match)
    {
        if (_firstKind == CallbackKind.Many)
        {
            return ((List<FutureCallback>)_firstTarget!).RemoveAll(c => match(c.Target));
        }
        if (_firstTarget is not null && match(_firstTarget))
        {
            _firstTarget = null;
            return 1;
        }
        return 0;
    }

    /// <summary>Moves the future to a final state and schedules every callback, in registration order.</summary>
    private protected void Complete(FutureState state)
    {
        Debug.Assert(_state == FutureState.Pending, "A future completes once.");
        _state = state;
        if (state == FutureState.Faulted)
        {
            _unretrieved = true;
            _loop.TrackUnretrieved(this, _error!);
        }
        object? first = _firstTarget;
        if (first is not null)
        {
            CallbackKind kind = _firstKind;
            _firstTarget = null; // emptied before any callback runs: one that removes callbacks finds none
            _firstKind = CallbackKind.None;
            if (kind == CallbackKind.Many)
            {
                foreach (FutureCallback cb in (List<FutureCallback>)first)
                {
                    Schedule(in cb);
                }
            }
            else
            {
                Schedule(new FutureCallback { Target = first, Arg = _firstArg, Kind = kind });
            }
        }
        OnCompleted();
    }

    /// <summary>Hook for subclasses, called after the callbacks were scheduled.</summary>
    private protected virtual void OnCompleted()
    {
    }

    private void Schedule(in FutureCallback cb)
    {
        switch (cb.Kind)
        {
            case CallbackKind.Waiter:
                ((AioTask)cb.Target!).Resume(cb.Arg, null);
                break;
            case CallbackKind.Listener:
                if (cb.Target is IInlineFutureListener inline)
                {
                    inline.OnFutureDone(this, cb.Arg);
                }
                else
                {
                    _loop.EnqueueListener((IFutureListener)cb.Target!, this, cb.Arg);
                }
                break;
            case CallbackKind.Done:
                _loop.EnqueueDoneCallback((Action<AioFuture>)cb.Target!, this);
                break;
            case CallbackKind.Continuation:
                _loop.CallSoonInternal(s_invokeAction, cb.Target);
                break;
        }
    }

    private static readonly Action<object?> s_invokeAction = static s => ((Action)s!)();

    /// <summary>Marks the exception as retrieved, so it is not reported as "never retrieved".</summary>
    internal void MarkRetrieved()
    {
        if (_unretrieved)
        {
            _unretrieved = false;
            _loop.MarkRetrieved(this);
        }
    }

    internal bool ExceptionRetrieved => !_unretrieved;

    internal Exception? ErrorUnobserved => _error;

    // ----------------------------------------------------------------- awaiting

    /// <summary>Lets <c>await future</c> suspend the current task until the future is done.</summary>
    public AioAwaiter GetAwaiter() => new(this);

    /// <summary>The awaiter's IsCompleted: also where misuse is reported, since throwing here fails the awaiting method cleanly.</summary>
    internal bool IsCompletedForAwait()
    {
        if (_state != FutureState.Pending)
        {
            return true;
        }
        EventLoop? running = EventLoop.TryGetRunningLoop();
        if (!ReferenceEquals(running, _loop))
        {
            CheckAwaitedFromOtherLoop(running);
        }
        if (ReferenceEquals(_loop.CurrentTaskInternal, this))
        {
            ThrowHelper.AwaitSelf(this);
        }
        return false;
    }

    /// <summary>Awaited where this future's loop is not running: another loop runs here (asyncio: "attached to a different loop"), or this is the wrong thread.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void CheckAwaitedFromOtherLoop(EventLoop? running)
    {
        if (running is not null)
        {
            ThrowHelper.OtherLoop(this, running);
        }
        _loop.CheckThread("await");
    }

    /// <summary>Registers the continuation of an await: parks the current task, or for code outside a task, schedules the continuation when done.</summary>
    internal void OnAwait(Action continuation)
    {
        // Never throws: an exception here would escape the async method builder onto the thread pool.
        // The checks that can fail run in IsCompletedForAwait, before the await suspends.
        if (_state != FutureState.Pending)
        {
            _loop.CallSoonInternal(s_invokeAction, continuation);
            return;
        }
        AioTask? task = _loop.CurrentTaskInternal;
        if (task is null)
        {
            AddCallback(new FutureCallback { Target = continuation, Kind = CallbackKind.Continuation });
            return;
        }
        int waitId = task.BeginWait(this, levelTriggered: false);
        task.SetContinuation((short)waitId, s_invokeAction, continuation);
        AddCallback(new FutureCallback { Target = task, Arg = waitId, Kind = CallbackKind.Waiter });
    }

    /// <summary>
    /// Called when the task awaiting this future is cancelled: asyncio propagates the cancellation down
    /// the await chain, so the future (or task) is cancelled too; the waiter resumes when it is done.
    /// </summary>
    bool IWaitAbort.AbortWait(AioTask task, int waitId, string? message)
    {
        if (!Cancel(message) && _state == FutureState.Pending)
        {
            // A future that refuses cancellation (a shielded proxy, say) gives the waiter up instead.
            RemoveWaiter(task, waitId);
            return true;
        }
        return false;
    }

    private void RemoveWaiter(AioTask task, int waitId)
    {
        if (_firstKind == CallbackKind.Many)
        {
            ((List<FutureCallback>)_firstTarget!).RemoveAll(c => ReferenceEquals(c.Target, task) && c.Arg == waitId);
        }
        else if (ReferenceEquals(_firstTarget, task) && _firstArg == waitId)
        {
            _firstTarget = null;
        }
    }

    /// <summary>A <see cref="Task"/> that completes like this future; for APIs that need a <see cref="Task"/>.</summary>
    /// <remarks>Only the loop completes it: a blocking wait for it on the loop's thread is refused (it would never end).</remarks>
    public Task AsTask()
    {
        _loop.CheckThread(nameof(AsTask));
        return LoopGate<bool>.ForFuture(this, static f =>
        {
            f.ThrowIfFailed();
            return true;
        });
    }

    private protected string StateText => _state switch
    {
        FutureState.Pending => "pending",
        FutureState.Succeeded => "finished",
        FutureState.Faulted => $"finished exception={_error!.GetType().Name}",
        _ => "cancelled",
    };

    /// <summary>asyncio-style description: <c>&lt;AioFuture pending&gt;</c>, <c>&lt;AioFuture finished&gt;</c>, <c>&lt;AioFuture cancelled&gt;</c>.</summary>
    public override string ToString() => $"<{TypeName} {StateText}>";

    private protected virtual string TypeName => "AioFuture";
}

internal enum CallbackKind : byte
{
    None,
    Waiter,
    Listener,
    Done,
    Continuation,
    Many,   // AioFuture._firstTarget holds a List<FutureCallback>
}

internal struct FutureCallback
{
    public object? Target;   // AioTask (Waiter), IFutureListener, Action<AioFuture> (Done), Action (Continuation)
    public int Arg;          // the waiter's wait id, or the listener's argument
    public CallbackKind Kind;
}

/// <summary>Awaiter of an <see cref="AioFuture"/> with no value.</summary>
public readonly struct AioAwaiter : ICriticalNotifyCompletion
{
    private readonly AioFuture _future;

    internal AioAwaiter(AioFuture future) => _future = future;

    /// <summary>True when the future is done (the await does not suspend).</summary>
    public bool IsCompleted => _future.IsCompletedForAwait();

    /// <summary>Rethrows the future's exception, or throws <see cref="CancelledError"/> if it was cancelled.</summary>
    public void GetResult() => _future.ThrowIfFailed();

    /// <inheritdoc />
    public void OnCompleted(Action continuation) => _future.OnAwait(continuation);

    /// <inheritdoc />
    public void UnsafeOnCompleted(Action continuation) => _future.OnAwait(continuation);
}

/// <summary>
/// Reports a future's exception that nobody retrieved: from its finalizer when the future is collected,
/// or at loop close (asyncio's "Task exception was never retrieved").
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Usage", "CA1816", Justification = "The finalizer is the report; it is suppressed once the exception was retrieved or reported.")]
internal sealed class UnretrievedTracker
{
    private readonly EventLoop _loop;
    private readonly WeakReference<AioFuture> _future;
    private readonly string _description;
    private readonly Exception _error;
    private int _done;   // 1 once retrieved or reported

    private UnretrievedTracker(EventLoop loop, AioFuture future, Exception error)
    {
        _loop = loop;
        _future = new WeakReference<AioFuture>(future);
        _description = future.ToString();
        _error = error;
    }

    public static UnretrievedTracker Create(EventLoop loop, AioFuture future, Exception error) => new(loop, future, error);

    public bool Pending => Volatile.Read(ref _done) == 0;

    public void MarkRetrieved()
    {
        if (Interlocked.Exchange(ref _done, 1) == 0)
        {
            _loop.OnTrackerDone();
        }
        GC.SuppressFinalize(this);
    }

    /// <summary>Reports now (loop close); returns false if it was retrieved or reported already.</summary>
    public bool TryReport(out ExceptionContext context)
    {
        context = null!;
        if (Interlocked.Exchange(ref _done, 1) != 0)
        {
            return false;
        }
        _loop.OnTrackerDone();
        GC.SuppressFinalize(this);
        _future.TryGetTarget(out AioFuture? f);
        string kind = f is AioTask || _description.StartsWith("<Task", StringComparison.Ordinal) ? "Task" : "Future";
        context = new ExceptionContext { Message = $"{kind} exception was never retrieved: {_description}", Exception = _error, Future = f };
        return true;
    }

    ~UnretrievedTracker()
    {
        if (TryReport(out ExceptionContext context))
        {
            _loop.PostExceptionReport(context);
        }
    }
}
