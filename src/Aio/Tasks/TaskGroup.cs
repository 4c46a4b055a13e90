// TaskGroup: structured concurrency (asyncio's TaskGroup, Trio's nursery).
//
// Design note. Run enters a CancelScope in the calling task; every child's root scope hangs below it,
// so cancelling that scope reaches the body and every child. The first child that fails with a real
// error cancels the scope. Run then waits for all children with a wait whose abort does not give up
// (it cancels the scope and keeps waiting: nobody leaves the group while a child runs), and throws an
// AggregateException of the real errors – never a CancelledError inside it. If the caller was
// cancelled from outside and nothing failed, Run throws CancelledError.
//
// Children. The scope's _childTasks lists the live children in creation order (cancellation reaches them in
// that order). A finished child leaves in O(1): its listener argument is a slot number that never moves, the
// slot records the child's index in the list, and the child's entry becomes a hole (null) that the loop skips.
// Holes are squeezed out (and the slots' indices rewritten) once they are the majority, so a long-lived
// group (a server's) stays as large as its live children, at amortised O(1) per child.
using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace Aio;

/// <summary>
/// Runs a body and the child tasks it starts, and returns only when all of them are done (asyncio's
/// <c>TaskGroup</c>). The first child that fails cancels the body and every other child; the group then
/// throws an <see cref="AggregateException"/> of the errors.
/// </summary>
/// <remarks>Belongs to its loop: use it on the loop's thread only, from the body and the children.</remarks>
[DebuggerDisplay("{ToString(),nq}")]
public sealed class TaskGroup : IFutureListener, IWaitAbort
{
    private readonly EventLoop _loop;
    private readonly CancelScope _scope = new();
    private readonly List<Exception> _errors = new();
    private int _pending;                     // children not done yet
    private GroupState _state;
    private AioTask? _waiter;                 // the task waiting in Run for the children
    private int _waiterId;
    private int[] _slots = [];                // per child slot: its index in _scope._childTasks; a free slot holds the next free one
    private int _freeSlot = -1;               // the first free slot, or -1
    private int _slotsUsed;                   // slots ever used
    private readonly List<int> _slotOfIndex = new(); // parallel to _scope._childTasks: each entry's slot
    private int _holes;                       // finished children's null entries in _scope._childTasks

    private enum GroupState
    {
        Running,
        Exiting,        // the body returned; waiting for children
        ShuttingDown,   // a child or the body failed: children are being cancelled
        Finished,
    }

    private TaskGroup(EventLoop loop) => _loop = loop;

    /// <summary>
    /// Runs <paramref name="body"/> with a new group, then waits for every child it started. Throws an
    /// <see cref="AggregateException"/> of the children's and the body's errors if any failed (after
    /// cancelling the rest); <see cref="CancelledError"/> if the caller was cancelled and nothing failed.
    /// </summary>
    public static async Task Run(Func<TaskGroup, Task> body)
    {
        ArgumentNullException.ThrowIfNull(body);
        AioTask parent = Asyncio.CurrentTaskOrThrow(nameof(TaskGroup) + "." + nameof(Run));
        var group = new TaskGroup(parent.Loop);
        await group.RunCore(parent, body);
    }

    /// <summary>Runs <paramref name="body"/> with a new group and returns its value once every child is done; see <see cref="Run(Func{TaskGroup, Task})"/>.</summary>
    public static async Task<T> Run<T>(Func<TaskGroup, Task<T>> body)
    {
        ArgumentNullException.ThrowIfNull(body);
        T result = default!;
        await Run(async g => { result = await body(g); });
        return result;
    }

    private async Task RunCore(AioTask parent, Func<TaskGroup, Task> body)
    {
        _scope.Enter(parent);
        try
        {
            try
            {
                await body(this);
            }
            catch (OperationCanceledException) when (_scope.CancelCalled || parent.IsEffectivelyCancelled())
            {
                // The group's own cancellation (a child failed) or one from outside: handled below.
                if (_scope.OwnsCancellation())
                {
                    parent.ScopeCaughtItsCancellation();
                }
            }
            catch (Exception e)
            {
                Fail(e);
            }
            if (_state == GroupState.Running)
            {
                _state = GroupState.Exiting;
            }
            AssertInvariants();
            while (_pending > 0)
            {
                await WaitForChildren(parent);
            }
        }
        finally
        {
            _state = GroupState.Finished;
            _scope.Exit();
            AssertInvariants();
        }
        if (_errors.Count > 0)
        {
            throw new AggregateException("unhandled errors in a TaskGroup", _errors);
        }
        parent.ThrowIfCancelled();
    }

    private ValueTask WaitForChildren(AioTask parent)
    {
        _waiter = parent;
        return parent.Park(this, out _waiterId);
    }

    /// <summary>Cancellation while waiting for children: cancel them all and keep waiting.</summary>
    bool IWaitAbort.AbortWait(AioTask task, int waitId, string? message)
    {
        _scope.Cancel(message);
        return false;
    }

    /// <summary>Starts a child task in the group; its body starts on the next iteration.</summary>
    /// <exception cref="InvalidOperationException">The group has finished, or is shutting down after a failure.</exception>
    public AioTask<T> CreateTask<T>(Func<Task<T>> body, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(body);
        CheckCanStart();
        return Adopt(_loop.StartTask(new AioTask<T>(_loop, body, name), _scope));
    }

    /// <summary>Starts a child task with no result in the group.</summary>
    /// <exception cref="InvalidOperationException">The group has finished, or is shutting down after a failure.</exception>
    public AioTask CreateTask(Func<Task> body, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(body);
        CheckCanStart();
        return Adopt(_loop.StartTask(new AioTask(_loop, body, name), _scope));
    }

    /// <summary>Starts a child task whose body takes <paramref name="state"/> (a static lambda allocates no closure).</summary>
    public AioTask<T> CreateTask<TState, T>(Func<TState, Task<T>> body, TState state, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(body);
        CheckCanStart();
        return Adopt(_loop.StartTask(new StatefulTask<TState, T>(_loop, body, state, name), _scope));
    }

    /// <summary>
    /// Starts a child task from a coroutine body – <c>g.CreateTask(async () =&gt; { … })</c> binds here. The lambda is an
    /// <c>async AioTask</c> coroutine: every step of it runs on the loop, even after <c>ConfigureAwait(false)</c>.
    /// </summary>
    /// <exception cref="InvalidOperationException">The group has finished, or is shutting down after a failure; or <paramref name="body"/> returned a task that has already started.</exception>
    [OverloadResolutionPriority(1)]
    public AioTask CreateTask(Func<AioTask> body, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(body);
        CheckCanStart();
        return CreateTask(_loop.CreateTask(body, name));
    }

    /// <summary>Starts a child task from a coroutine body with a result; see <see cref="CreateTask(Func{AioTask}, string?)"/>.</summary>
    /// <exception cref="InvalidOperationException">The group has finished, or is shutting down after a failure; or <paramref name="body"/> returned a task that has already started.</exception>
    [OverloadResolutionPriority(1)]
    public AioTask<T> CreateTask<T>(Func<AioTask<T>> body, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(body);
        CheckCanStart();
        return CreateTask(_loop.CreateTask(body, name));
    }

    /// <summary>Starts a child task from a coroutine body that takes <paramref name="state"/> (a static lambda allocates no closure); see <see cref="CreateTask(Func{AioTask}, string?)"/>.</summary>
    /// <exception cref="InvalidOperationException">The group has finished, or is shutting down after a failure; or <paramref name="body"/> returned a task that has already started.</exception>
    [OverloadResolutionPriority(1)]
    public AioTask<T> CreateTask<TState, T>(Func<TState, AioTask<T>> body, TState state, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(body);
        CheckCanStart();
        return CreateTask(_loop.CreateTask(body, state, name));
    }

    /// <summary>
    /// Makes <paramref name="task"/> – just returned by an <c>async AioTask&lt;T&gt;</c> method, not started yet –
    /// a child of the group (asyncio's <c>tg.create_task(coro())</c>): <c>g.CreateTask(Fetch(url))</c>.
    /// </summary>
    /// <exception cref="InvalidOperationException">The task has already started, belongs to another group or loop, or the group cannot start tasks.</exception>
    public AioTask<T> CreateTask<T>(AioTask<T> task) => (AioTask<T>)CreateTask((AioTask)task);

    /// <summary>Makes <paramref name="task"/> (an <c>async AioTask</c> method's task, not started yet) a child of the group; see <see cref="CreateTask{T}(AioTask{T})"/>.</summary>
    /// <exception cref="InvalidOperationException">The task has already started, belongs to another group or loop, or the group cannot start tasks.</exception>
    public AioTask CreateTask(AioTask task)
    {
        ArgumentNullException.ThrowIfNull(task);
        CheckCanStart();
        if (task.Started || task.Done || task._parentScope is not null || !ReferenceEquals(task.Loop, _loop))
        {
            throw new InvalidOperationException(
                $"{task} cannot join {this}: it has already started, belongs to another group, or runs on another loop. " +
                "Pass the task an async AioTask method has just returned (g.CreateTask(Work())), or use g.CreateTask(async () => ...).");
        }
        task._parentScope = _scope;
        return Adopt(task);
    }

    private void CheckCanStart()
    {
        _loop.CheckThread(nameof(CreateTask));
        if (_state == GroupState.Finished)
        {
            throw new InvalidOperationException($"{this} is finished; create tasks only while its body or its children run.");
        }
        if (_state == GroupState.ShuttingDown)
        {
            throw new InvalidOperationException($"{this} cannot start new tasks after a child failed.");
        }
    }

    private TTask Adopt<TTask>(TTask child) where TTask : AioTask
    {
        Debug.Assert(_state is GroupState.Running or GroupState.Exiting, "A TaskGroup adopts children only while its body or its children run, never once shutting down or finished.");
        List<AioTask> children = _scope._childTasks ??= new List<AioTask>();
        int slot = _freeSlot;
        if (slot >= 0)
        {
            _freeSlot = _slots[slot];
        }
        else
        {
            if (_slotsUsed == _slots.Length)
            {
                Array.Resize(ref _slots, Math.Max(4, _slots.Length * 2));
            }
            slot = _slotsUsed++;
        }
        _slots[slot] = children.Count;
        children.Add(child);
        _slotOfIndex.Add(slot);
        _pending++;
        child.AddListener(this, slot);
        AssertInvariants();
        return child;
    }

    /// <summary>Takes a finished child out of the scope's list in O(1) (amortised: see the design note).</summary>
    private void RemoveChild(AioTask child, int slot)
    {
        List<AioTask> children = _scope._childTasks!;
        int index = _slots[slot];
        Debug.Assert(ReferenceEquals(children[index], child), "A TaskGroup child's slot must point at its entry in the scope's list.");
        children[index] = null!; // a hole: DeliverScopeTree skips it
        _holes++;
        _slots[slot] = _freeSlot;
        _freeSlot = slot;
        if (_holes == children.Count)
        {
            children.Clear();
            _slotOfIndex.Clear();
            _holes = 0;
        }
        else if (_holes > 8 && _holes * 2 > children.Count)
        {
            int kept = 0;
            for (int i = 0; i < children.Count; i++)
            {
                if (children[i] is { } live)
                {
                    int liveSlot = _slotOfIndex[i];
                    children[kept] = live;
                    _slotOfIndex[kept] = liveSlot;
                    _slots[liveSlot] = kept;
                    kept++;
                }
            }
            children.RemoveRange(kept, children.Count - kept);
            _slotOfIndex.RemoveRange(kept, _slotOfIndex.Count - kept);
            _holes = 0;
        }
    }

    void IFutureListener.OnFutureDone(AioFuture future, int arg)
    {
        var child = (AioTask)future;
        RemoveChild(child, arg);
        _pending--;
        if (child.IsFaulted)
        {
            Fail(child.Exception()!);
        }
        else if (child.Cancelled)
        {
            child.MarkRetrieved();
        }
        if (_pending == 0 && _waiter is { } waiter)
        {
            _waiter = null;
            waiter.Resume(_waiterId, null);
        }
        AssertInvariants();
    }

    private void Fail(Exception error)
    {
        _errors.Add(error);
        if (_state != GroupState.ShuttingDown && _state != GroupState.Finished)
        {
            _state = GroupState.ShuttingDown;
            _scope.Cancel("A task in the TaskGroup failed.");
        }
        // No AssertInvariants here: OnFutureDone calls this before waking the waiter; both callers check right after.
    }

    /// <summary>
    /// Debug builds: the children's bookkeeping (see the design note). The scope's list holds exactly the
    /// <see cref="_pending"/> live children plus <see cref="_holes"/> nulls; <see cref="_slotOfIndex"/> runs parallel
    /// to it and each live entry's slot points back at it; a waiter waits only for pending children; a group that
    /// is shutting down has an error. Lists over 1024 entries get the counts checked only, so large tests stay linear.
    /// </summary>
    [Conditional("DEBUG")]
    private void AssertInvariants()
    {
        List<AioTask>? children = _scope._childTasks;
        int count = children?.Count ?? 0;
        Debug.Assert(_pending >= 0, "A TaskGroup cannot have a negative number of pending children.");
        Debug.Assert(_holes >= 0 && _holes <= count, "A TaskGroup's holes must be entries of the scope's child list.");
        Debug.Assert(count - _holes == _pending, "A TaskGroup's pending count must equal the live (non-null) entries of its scope's child list.");
        Debug.Assert(_slotOfIndex.Count == count, "A TaskGroup's slot-of-index list must run parallel to the scope's child list.");
        Debug.Assert(_slotsUsed <= _slots.Length && _freeSlot < _slotsUsed, "A TaskGroup's free slot must be one it has used.");
        Debug.Assert(_waiter is null || _pending > 0, "A TaskGroup's Run waits only while children are pending; the last child to finish must wake it.");
        Debug.Assert(_state != GroupState.ShuttingDown || _errors.Count > 0, "A TaskGroup shuts down only after recording the error that caused it.");
        if (children is null || count > 1024)
        {
            return;
        }
        int live = 0;
        for (int i = 0; i < count; i++)
        {
            if (children[i] is not null)
            {
                live++;
                int slot = _slotOfIndex[i];
                Debug.Assert(slot >= 0 && slot < _slotsUsed && _slots[slot] == i, "A live TaskGroup child's slot must point back at its entry in the scope's list.");
            }
        }
        Debug.Assert(live == _pending, "A TaskGroup's pending count must equal its live children.");
    }

    /// <summary>asyncio-style description: <c>&lt;TaskGroup state=running tasks=3&gt;</c>.</summary>
    public override string ToString()
    {
        string state = _state switch
        {
            GroupState.Running => "running",
            GroupState.Exiting => "exiting",
            GroupState.ShuttingDown => "shutting-down",
            _ => "finished",
        };
        return $"<TaskGroup state={state} tasks={_pending}>";
    }
}
