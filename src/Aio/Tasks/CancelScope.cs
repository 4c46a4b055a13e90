// CancelScope: Trio's cancel scopes under asyncio's API.
//
// Design note. A scope is entered by one task (its Owner) and forms a stack with the other scopes of
// that task (_parent outward, _inner inward). A TaskGroup's scope also lists the group's child tasks:
// their root scopes hang below it, so cancelling the scope reaches them. Cancellation is
// level-triggered: Cancel() marks the scope, and every Aio wait of an affected task throws
// CancelledError until the scope is exited. On exit the scope catches the CancelledError it caused
// itself (when no enclosing scope is cancelled too – that one owns the error then), which is how
// MoveOnAfter and FailAfter know "my deadline fired" without counting cancel requests as asyncio does.
using System.Diagnostics;
using Aio.Internal;

namespace Aio;

/// <summary>
/// A region of a task whose awaits can be cancelled together, by <see cref="Cancel"/> or by a deadline
/// (Trio's cancel scope). <see cref="Asyncio.FailAfter(double, Func{Task})"/>, <see cref="TaskGroup"/>,
/// <see cref="Asyncio.Shield{T}(AioTask{T})"/> and <see cref="Asyncio.WaitFor{T}(AioTask{T}, double)"/> are built on it.
/// </summary>
/// <remarks>
/// <para>Run the guarded code with <see cref="RunAsync(Func{Task})"/> and await it at once: scopes are
/// lexical. Once cancelled, every Aio await inside throws <see cref="CancelledError"/> until the scope
/// ends; the scope then swallows the error it caused (<see cref="CancelledCaught"/> tells).</para>
/// <para>A <see cref="Shield"/>ed scope ignores the cancellation of enclosing scopes: use one for cleanup
/// in a <c>finally</c> that must await. A scope belongs to its loop: use it on the loop's thread only.</para>
/// </remarks>
[DebuggerDisplay("{ToString(),nq}")]
public sealed class CancelScope
{
    internal AioTask? Owner;                 // the task that entered the scope; null before entry
    internal CancelScope? _parent;           // enclosing scope in the same task; null: the task's root
    internal CancelScope? _inner;            // the scope entered directly inside this one, in the same task
    internal List<AioTask>? _childTasks;     // TaskGroup children whose root hangs below this scope
    private bool _entered;
    private bool _exited;
    private bool _shield;
    private double? _deadline;               // absolute loop time; null: none
    private TimerHandle? _deadlineTimer;     // armed while entered with a deadline
    private CancellationTokenSource? _cts;   // Token, created on request

    /// <summary>Creates a scope.</summary>
    /// <param name="deadline">Absolute loop time (seconds, <see cref="EventLoop.Time"/>) at which the scope cancels itself; null for none.</param>
    /// <param name="shield">Whether the scope ignores the cancellation of the scopes around it.</param>
    public CancelScope(double? deadline = null, bool shield = false)
    {
        if (deadline is double d && double.IsNaN(d))
        {
            ThrowHelper.NaNDelay(nameof(deadline));
        }
        _deadline = deadline;
        _shield = shield;
    }

    /// <summary>Creates a scope whose deadline is <paramref name="seconds"/> from now on the running loop.</summary>
    public static CancelScope AfterDelay(double seconds, bool shield = false)
    {
        if (double.IsNaN(seconds))
        {
            ThrowHelper.NaNDelay(nameof(seconds));
        }
        return new CancelScope(EventLoop.GetRunningLoop().Time() + seconds, shield);
    }

    /// <summary>True once <see cref="Cancel"/> was called or the deadline passed.</summary>
    public bool CancelCalled { get; private set; }

    /// <summary>True if the scope ended by catching the <see cref="CancelledError"/> it caused.</summary>
    public bool CancelledCaught { get; private set; }

    /// <summary>True if the scope was cancelled by its deadline (rather than by <see cref="Cancel"/>).</summary>
    public bool DeadlineReached { get; private set; }

    internal string? CancelMessage { get; private set; }

    /// <summary>The scope's cancellation reached the body: a CancelledError was thrown into it or an Aio wait of it was aborted.</summary>
    internal bool CancelDelivered { get; set; }

    internal bool HasToken => _cts is not null;

    /// <summary>Whether the scope ignores the cancellation of enclosing scopes. May change while entered.</summary>
    public bool Shield
    {
        get => _shield;
        set
        {
            if (_shield == value)
            {
                return;
            }
            _shield = value;
            AssertInvariants();
            if (!value && IsActive)
            {
                // Unshielding may expose the code inside to a cancellation that was held back.
                AioTask.DeliverScopeTree(this);
            }
        }
    }

    /// <summary>The absolute loop time at which the scope cancels itself, or null. May change while entered.</summary>
    public double? Deadline
    {
        get => _deadline;
        set
        {
            if (value is double d && double.IsNaN(d))
            {
                ThrowHelper.NaNDelay(nameof(value));
            }
            _deadline = value;
            if (IsActive)
            {
                ArmDeadline();
            }
        }
    }

    private bool IsActive => _entered && !_exited;

    /// <summary>
    /// A token cancelled when this scope is cancelled (directly or through an enclosing scope), for
    /// foreign APIs such as <c>HttpClient</c>. Read it inside the scope.
    /// </summary>
    public CancellationToken Token
    {
        get
        {
            if (CancelCalled || (IsActive && Owner!.IsCancelledFrom(this)))
            {
                return new CancellationToken(true);
            }
            _cts ??= new CancellationTokenSource();
            return _cts.Token;
        }
    }

    /// <summary>Cancels the scope: every Aio await inside it throws <see cref="CancelledError"/> until it ends. Idempotent.</summary>
    public void Cancel(string? message = null)
    {
        if (CancelCalled)
        {
            return;
        }
        Owner?.Loop.CheckThread(nameof(Cancel));
        CancelCalled = true;
        CancelMessage = message ?? "Cancelled by cancel scope.";
        AssertInvariants();
        if (IsActive)
        {
            AioTask.DeliverScopeTree(this);
        }
    }

    /// <summary>Runs <paramref name="body"/> inside the scope on the current task; a cancellation of the scope ends it quietly.</summary>
    /// <exception cref="InvalidOperationException">Not inside a task, or the scope was run before.</exception>
    public async Task RunAsync(Func<Task> body)
    {
        ArgumentNullException.ThrowIfNull(body);
        await RunScopedAsync(body, static async b => { await b(); return true; });
    }

    /// <summary>Runs <paramref name="body"/> inside the scope; returns its value, or <paramref name="cancelledValue"/> if the scope's cancellation ended it.</summary>
    public async Task<T> RunAsync<T>(Func<Task<T>> body, T cancelledValue = default!)
    {
        ArgumentNullException.ThrowIfNull(body);
        (bool completed, T value) = await RunScopedAsync(body, static b => b());
        return completed ? value : cancelledValue;
    }

    /// <summary>
    /// The one way a scope runs code: enter, await the body, swallow the cancellation this scope caused,
    /// exit. Returns (true, value) if the body completed, (false, …) if this scope cancelled it: the body ended
    /// with the CancelledError this scope caused, or returned without this scope's cancellation ever reaching it
    /// (it came while the body sat in a foreign await); the value it returned then is kept.
    /// </summary>
    internal async Task<(bool Completed, T Value)> RunScopedAsync<TBody, T>(TBody body, Func<TBody, Task<T>> run)
    {
        EventLoop loop = EventLoop.GetRunningLoop();
        AioTask task = loop.CurrentTaskInternal ?? throw NotInTask();
        Enter(task);
        try
        {
            T value = await run(body);
            if (CancelCalled && !CancelDelivered && OwnsCancellation())
            {
                // The cancellation came while the body was out of reach (a foreign await, or running without an Aio
                // await since): it did not finish in time, whatever it returned.
                CancelledCaught = true;
                AssertInvariants();
                return (false, value);
            }
            return (true, value);
        }
        catch (OperationCanceledException) when (OwnsCancellation())
        {
            CancelledCaught = true;
            // That delivery was this scope's; a cancellation of the task itself must still be delivered (or end it cancelled).
            task.ScopeCaughtItsCancellation();
            return (false, default!);
        }
        finally
        {
            Exit();
        }
    }

    private static InvalidOperationException NotInTask() =>
        new("A CancelScope must run inside an AioTask (Asyncio.Run, loop.CreateTask or RunUntilComplete start one).");

    internal void Enter(AioTask task)
    {
        if (_entered)
        {
            ThrowHelper.ScopeReused(this);
        }
        _entered = true;
        Owner = task;
        _parent = task._innermost;
        if (_parent is null)
        {
            task._outermost = this;
        }
        else
        {
            _parent._inner = this;
        }
        task._innermost = this;
        AssertInvariants();
        task.AssertScopeChain();
        if (CancelCalled)
        {
            AioTask.DeliverScopeTree(this);
        }
        else if (_deadline is not null)
        {
            ArmDeadline();
        }
    }

    internal void Exit()
    {
        AioTask task = Owner!;
        if (!ReferenceEquals(task._innermost, this))
        {
            ThrowHelper.ScopeNotInnermost(this);
        }
        _exited = true;
        task._innermost = _parent;
        if (_parent is null)
        {
            task._outermost = null;
        }
        else
        {
            _parent._inner = null;
        }
        _deadlineTimer?.Cancel();
        _deadlineTimer = null;
        _cts?.Dispose();
        _cts = null;
        AssertInvariants();
        task.AssertScopeChain();
    }

    /// <summary>Whether a cancellation that reached the code inside was caused by this scope (and no enclosing scope is cancelled too).</summary>
    internal bool OwnsCancellation() => CancelCalled && (Shield || !Owner!.IsCancelledFrom(_parent)); // looks from just outside this scope

    /// <summary>The scope's state is consistent (checked after every change of it, in debug builds).</summary>
    [Conditional("DEBUG")]
    private void AssertInvariants()
    {
        Debug.Assert(_entered || (!_exited && Owner is null && _parent is null && _inner is null),
            "A CancelScope that was never entered must have no owner, no enclosing scope and no inner scope.");
        Debug.Assert(!_entered || Owner is not null, "An entered CancelScope must keep the task that entered it as its owner.");
        Debug.Assert(!IsActive || (_parent is null ? ReferenceEquals(Owner!._outermost, this) : ReferenceEquals(_parent._inner, this)),
            "An active CancelScope must be its enclosing scope's inner scope, or its task's outermost scope when it has no enclosing scope.");
        Debug.Assert(_inner is null || (IsActive && ReferenceEquals(_inner._parent, this)),
            "A CancelScope's inner scope must have it as its enclosing scope, and an exited scope must have no inner scope.");
        Debug.Assert(!CancelDelivered || CancelCalled, "A CancelScope's cancellation can only be delivered once it was cancelled.");
        Debug.Assert(!CancelledCaught || CancelCalled, "A CancelScope can only catch its own cancellation once it was cancelled.");
        Debug.Assert(!DeadlineReached || CancelCalled, "A CancelScope whose deadline was reached must be cancelled.");
        Debug.Assert(_deadlineTimer is null || IsActive, "Only an active CancelScope may have a deadline timer armed.");
    }

    /// <summary>
    /// Arms the deadline timer of an active scope. A deadline that is already due cancels the scope at once
    /// (Trio's rule): the body's next Aio await, even a <c>Sleep(0)</c> already queued, throws.
    /// </summary>
    private void ArmDeadline()
    {
        _deadlineTimer?.Cancel();
        _deadlineTimer = null;
        if (_deadline is double when && !CancelCalled)
        {
            EventLoop loop = Owner!.Loop;
            if (when <= loop.Time())
            {
                OnDeadline();
                return;
            }
            _deadlineTimer = loop.CallAt(when, OnDeadline);
        }
    }

    private void OnDeadline()
    {
        _deadlineTimer = null;
        if (!CancelCalled && IsActive)
        {
            DeadlineReached = true;
            Cancel("Cancel scope deadline reached.");
        }
    }

    internal void CancelTokenSoon()
    {
        if (_cts is { IsCancellationRequested: false })
        {
            // The scope may end (and dispose its source) before the callback runs: cancel only the source it still has.
            Owner!.Loop.CallSoonInternal(static s => (((CancelScope)s!)._cts)?.Cancel(), this);
        }
    }

    /// <summary>Trio-style description: <c>&lt;CancelScope active cancelled deadline=12.500&gt;</c>.</summary>
    public override string ToString()
    {
        string state = !_entered ? "unbound" : _exited ? "exited" : "active";
        string cancelled = CancelCalled ? " cancelled" : "";
        string shield = _shield ? " shielded" : "";
        string deadline = _deadline is double d ? FormattableString.Invariant($" deadline={d:0.000}") : "";
        return $"<CancelScope {state}{cancelled}{shield}{deadline}>";
    }
}
