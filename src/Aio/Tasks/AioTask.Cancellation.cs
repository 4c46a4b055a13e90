// AioTask, cancellation: cancel scopes as seen from a task (the class's design note is in AioTask.cs).
//
// Design note. Cancellation is Trio's: each task has a root scope (the task itself) and a stack of
// CancelScopes (innermost first, linked by _parent; see CancelScope.cs). A task is "effectively cancelled"
// when a scope on that chain is cancelled before a shielded one is met; for a TaskGroup child, the chain
// goes on into the group's scope in the parent task. Cancelling a scope wakes each affected parked task
// through its wait's abort (DeliverScopeTree, below, walks the scopes and the groups' children; each
// task delivers to its own waits here). Delivery is recorded: _cancelDelivered on the task and
// CancelDelivered on each cancelled scope the body is in, so a body that returns without ever seeing a
// cancellation still counts as cancelled (asyncio's rule; a scope's "did not finish in time"). A scope
// that catches the CancelledError it caused itself (CancelScope.RunScopedAsync, TaskGroup's body) hands the
// delivery back (ScopeCaughtItsCancellation): a cancellation of the task itself must still reach the task.
// The check starts from a given scope (IsCancelledFrom): a scope asks it from itself or from just outside
// itself without touching the task's chain.
using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using Aio.Internal;

namespace Aio;

public partial class AioTask
{
    // Cancellation (see the design note).
    private bool _cancelRequested;           // Cancel() was called (the root scope is cancelled)
    private bool _cancelDelivered;           // a CancelledError was thrown into the body since the last request (see ScopeCaughtItsCancellation)

    /// <summary>The innermost entered scope of this task; null: the task root. Kept in the extras: most tasks never enter one.</summary>
    internal CancelScope? _innermost
    {
        get => _extras?.Innermost;
        set
        {
            if (value is not null || _extras is not null)
            {
                Extras.Innermost = value;
            }
        }
    }

    internal CancelScope? _outermost
    {
        get => _extras?.Outermost;
        set
        {
            if (value is not null || _extras is not null)
            {
                Extras.Outermost = value;
            }
        }
    }

    internal CancelScope? _parentScope
    {
        get => _extras?.ParentScope;
        set
        {
            if (value is not null || _extras is not null)
            {
                Extras.ParentScope = value;
            }
        }
    }

    private string? _cancelMessage => _extras?.CancelMessage;

    // ----------------------------------------------------------------- requests

    /// <summary>How many times <see cref="Cancel"/> was called on this task while it was pending.</summary>
    public int Cancelling => _extras?.Cancelling ?? 0;

    /// <summary>
    /// Requests cancellation: the task's scope is cancelled, its current Aio wait (and every later one,
    /// until the body returns) throws <see cref="CancelledError"/>, and an awaited future or task is
    /// cancelled too. A task cancelled before its first step never runs its body. Returns false if the
    /// task is already done.
    /// </summary>
    public override bool Cancel(string? message = null)
    {
        _loop.CheckThread(nameof(Cancel));
        if (Done)
        {
            return false;
        }
        TaskExtras extras = Extras;
        extras.Cancelling++;
        if (!_cancelRequested)
        {
            _cancelRequested = true;
            _cancelDelivered = false;
            extras.CancelMessage = message;
        }
        DeliverTaskTree();
        return true;
    }

    // ----------------------------------------------------------------- the effective-cancellation check

    /// <summary>Whether a cancellation reaches this task now (its scope chain, through shields and TaskGroup parents).</summary>
    internal bool IsEffectivelyCancelled() => TryGetCancellation(out _);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal bool TryGetCancellation(out string? message)
    {
        if (_extras is null && !_cancelRequested)
        {
            message = null; // no scope, no TaskGroup parent, no Cancel(): most tasks, on every wait
            return false;
        }
        return TryGetCancellationFrom(_innermost, out message);
    }

    /// <summary>
    /// Whether a cancellation reaches code of this task that runs directly inside <paramref name="scope"/> (one of
    /// the task's entered scopes; null: the task's root, outside every scope). A scope asks this about itself (its
    /// token) and about the chain just outside it (whether a cancellation it caught was its own).
    /// </summary>
    internal bool IsCancelledFrom(CancelScope? scope)
    {
        Debug.Assert(scope is null || ReferenceEquals(scope.Owner, this), "IsCancelledFrom must start from a scope entered by this task.");
        return TryGetCancellationFrom(scope, out _);
    }

    /// <summary>Walks the scope chain outward from <paramref name="scope"/>, through shields and into TaskGroup parents.</summary>
    private bool TryGetCancellationFrom(CancelScope? scope, out string? message)
    {
        AioTask task = this;
        while (true)
        {
            for (; scope is not null; scope = scope._parent)
            {
                if (scope.CancelCalled)
                {
                    message = scope.CancelMessage;
                    return true;
                }
                if (scope.Shield)
                {
                    message = null;
                    return false;
                }
            }
            if (task._cancelRequested)
            {
                message = task._cancelMessage;
                return true;
            }
            scope = task._extras?.ParentScope;
            if (scope is null)
            {
                message = null;
                return false;
            }
            task = scope.Owner!;
        }
    }

    private string? FindCancelMessage() => TryGetCancellation(out string? m) ? m : null;

    // ----------------------------------------------------------------- delivery

    /// <summary>Level-triggered check: throws <see cref="CancelledError"/> if this task's scope is cancelled.</summary>
    internal void ThrowIfCancelled()
    {
        if (TryGetCancellation(out string? message))
        {
            ThrowCancelled(message);
        }
    }

    [DoesNotReturn]
    private void ThrowCancelled(string? message)
    {
        MarkCancelDelivered();
        throw new CancelledError(message);
    }

    /// <summary>
    /// This task's scope is cancelled: abort every wait it is parked in (each resumes with CancelledError, or
    /// cancels the future it awaits) and count the cancellation as delivered. A task in a foreign await cannot be
    /// reached: the cancellation stays undelivered (in debug mode that is logged once per task).
    /// </summary>
    internal void DeliverCancelIfParked()
    {
        // Runs after every step of a parked task (AfterStep): the no-cancellation test stays inline and first.
        if (Done || !TryGetCancellation(out string? message))
        {
            return;
        }
        DeliverCancel(message);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void DeliverCancel(string? message)
    {
        if (!IsParked)
        {
            if (ResumeQueued)
            {
                // Its Aio wait already completed (the wake-up came first in this iteration): the body has what it
                // awaited in time, so a scope's deadline falling due now does not turn its result into a timeout.
                // The task's own cancellation stays undelivered (asyncio: the next step sees it).
                MarkScopesDelivered();
            }
            else if (_foreignSuspended && _loop.Debug)
            {
                ReportCancelInForeignAwait(message);
            }
            return;
        }
        MarkCancelDelivered();
        AbortParkedWaits(message, keepFutureWaits: false);
    }

    /// <summary>
    /// A cancellation reached the body: a <see cref="CancelledError"/> is thrown into it, or an Aio wait of it
    /// was aborted. Marks the task and every cancelled scope it is in (up to a shield) as delivered: a scope
    /// whose cancellation was never delivered does not let its body count as finished in time.
    /// </summary>
    internal void MarkCancelDelivered()
    {
        _cancelDelivered = true;
        MarkScopesDelivered();
    }

    private void MarkScopesDelivered()
    {
        for (CancelScope? scope = _innermost; scope is not null; scope = scope._parent)
        {
            if (scope.CancelCalled)
            {
                scope.CancelDelivered = true;
            }
            if (scope.Shield)
            {
                break;
            }
        }
    }

    /// <summary>Debug mode: a cancellation found this task in a foreign await it cannot interrupt; say so once per task.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ReportCancelInForeignAwait(string? message)
    {
        if (_extras?.ForeignCancelReported == true || UsesCancellationToken())
        {
            return;
        }
        Extras.ForeignCancelReported = true;
        LoopLog.CancelInForeignAwait(_loop.Logger, ToString(), message ?? "cancelled");
    }

    /// <summary>Whether the body took a token that this cancellation cancels (it then stops the foreign work itself).</summary>
    private bool UsesCancellationToken()
    {
        if (_extras?.RootCts is not null)
        {
            return true;
        }
        for (CancelScope? scope = _innermost; scope is not null; scope = scope._parent)
        {
            if (scope.HasToken)
            {
                return true;
            }
        }
        return false;
    }

    // ----------------------------------------------------------------- scopes that catch their own cancellation (CancelScope, TaskGroup)

    /// <summary>
    /// A cancel scope (a <see cref="CancelScope"/> or a <see cref="TaskGroup"/>'s) caught the CancelledError that it
    /// caused itself: that delivery was the scope's, not the task's. A cancellation of the task itself is then still
    /// undelivered: the next Aio wait throws it, or the task ends cancelled if its body returns first.
    /// </summary>
    internal void ScopeCaughtItsCancellation()
    {
        AssertScopeChain();
        _cancelDelivered = false;
    }

    /// <summary>The task's entered scopes form one chain from <c>_innermost</c> out to <c>_outermost</c>, each owned by this task.</summary>
    [Conditional("DEBUG")]
    internal void AssertScopeChain()
    {
        CancelScope? last = null;
        for (CancelScope? scope = _innermost; scope is not null; scope = scope._parent)
        {
            Debug.Assert(ReferenceEquals(scope.Owner, this), "Every scope on a task's scope chain must be owned by that task.");
            Debug.Assert(scope._inner is null ? ReferenceEquals(scope, _innermost) : ReferenceEquals(scope._inner._parent, scope),
                "A scope's inner scope must have it as its parent, and only the innermost scope may have no inner scope.");
            last = scope;
        }
        Debug.Assert(ReferenceEquals(last, _outermost), "The outermost scope of a task must be the end of the chain that starts at its innermost scope.");
    }

    // ----------------------------------------------------------------- tokens

    /// <summary>The token of the task's root scope: cancelled when the task is cancelled.</summary>
    internal CancellationToken RootToken
    {
        get
        {
            if (IsCancelledFrom(null))
            {
                return new CancellationToken(true);
            }
            TaskExtras extras = Extras;
            extras.RootCts ??= new CancellationTokenSource();
            return extras.RootCts.Token;
        }
    }

    internal void CancelRootTokenSoon()
    {
        if (_extras?.RootCts is { IsCancellationRequested: false } cts)
        {
            _loop.CallSoonInternal(static s => ((CancellationTokenSource)s!).Cancel(), cts);
        }
    }

    // ----------------------------------------------------------------- delivery through the scope tree

    /// <summary>
    /// <paramref name="scope"/> was cancelled (or its cancellation now reaches further): wake every parked
    /// task it affects – its owner, and the TaskGroup children below it and below the scopes nested in it,
    /// stopping at shielded scopes – and cancel their tokens.
    /// </summary>
    internal static void DeliverScopeTree(CancelScope scope)
    {
        for (CancelScope? s = scope; s is not null; s = s._inner)
        {
            if (!ReferenceEquals(s, scope) && s.Shield)
            {
                break;
            }
            s.CancelTokenSoon();
            if (s._childTasks is { } children)
            {
                for (int i = 0; i < children.Count; i++)
                {
                    if (children[i] is { } child) // null: a finished child's hole (TaskGroup removes in O(1))
                    {
                        child.DeliverTaskTree();
                    }
                }
            }
        }
        scope.Owner?.DeliverCancelIfParked();
    }

    /// <summary>This task's root scope was cancelled (Cancel, or its TaskGroup's scope): deliver to it and below.</summary>
    internal void DeliverTaskTree()
    {
        CancelRootTokenSoon();
        CancelScope? outermost = _outermost;
        if (outermost is not null && !outermost.Shield)
        {
            DeliverScopeTree(outermost);
        }
        else
        {
            DeliverCancelIfParked();
        }
    }
}
