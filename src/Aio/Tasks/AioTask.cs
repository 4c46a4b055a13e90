// AioTask: a plain C# async body run step by step on the loop, with asyncio's task semantics.
//
// Design note. A task's body is an ordinary async method (Func<Task>), or a coroutine (an async AioTask
// method built by AioTaskMethodBuilder). The loop runs each step of it with the task as "current task"
// and the task's own SynchronizationContext installed, so:
//   - an await of an Aio awaitable (Sleep, a future, a primitive) parks the task: the awaitable calls
//     BeginWait (which records what the task waits on and how to abort that wait) and stores the
//     continuation in the task itself; whoever completes the wait calls Resume with the wait's id, which
//     queues the continuation on the ready ring tagged with the task. No allocation per wait.
//   - an await of a foreign Task captures the task's context; its completion is Post-ed back to the
//     loop (from any thread) as a step of this task.
// After every step the loop checks the body's Task: when it is complete, the task finishes.
//
// The class is split by facet:
//   AioTask.cs               this note, the task's identity (name, number, extras), its description
//   AioTask.Steps.cs         the first step, finishing from the body, coroutine steps
//   AioTask.Waits.cs         Aio waits: the main wait inline in the task, side waits for async methods
//                            the task runs concurrently (a task may be in several waits at once)
//   AioTask.Cancellation.cs  cancel scopes as seen from a task: the effective-cancellation check,
//                            delivery to parked waits, the TaskGroup rules
using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Threading.Tasks.Sources;
using Aio.Internal;
using Aio.LowLevel;

namespace Aio;

/// <summary>
/// A task: an async body scheduled on an <see cref="EventLoop"/>, with a name, cancellation and done
/// callbacks (asyncio's <c>Task</c>). Created by <see cref="EventLoop.CreateTask(Func{Task}, string?)"/>,
/// <see cref="Asyncio.CreateTask(Func{Task}, string?)"/> or <see cref="TaskGroup.CreateTask(Func{Task}, string?)"/>;
/// its body starts on the loop's next iteration.
/// </summary>
/// <remarks>
/// A task belongs to its loop: use it on the loop's thread only. Await it for its outcome; a task whose
/// exception nobody retrieves is reported to the loop's exception handler.
/// </remarks>
[DebuggerDisplay("{ToString(),nq}")]
[AsyncMethodBuilder(typeof(AioTaskMethodBuilder))]
public partial class AioTask : AioFuture
{
    private protected object? _body;         // delegate body: the delegate until the first step, then the body's Task; coroutine: its continuation Action, once needed
    private bool _started;                   // the first step ran (or found the task cancelled)
    private readonly int _number;
    private TaskContext? _context;           // created at the first step

    private TaskExtras? _extras;             // rarely used state, allocated on first use (most tasks never need it)

    /// <summary>Task state most tasks never use, kept out of the task object to keep it small (W3: bytes per sleeping task).</summary>
    private sealed class TaskExtras
    {
        public CancelScope? Innermost;           // innermost entered scope of the task; null: the task root
        public CancelScope? Outermost;           // outermost entered scope of the task; null when none
        public CancelScope? ParentScope;         // for a TaskGroup child: the group's scope; null otherwise
        public CancellationTokenSource? RootCts; // Asyncio.CurrentToken at the root, created on request
        public string? CancelMessage;            // message of the first Cancel() request
        public int Cancelling;                   // number of Cancel() requests
        public string? Name;                     // the name given; null: "Task-{_number}" (most hot-path tasks have no name)
        public SideWait? SideWaits;              // waits begun while the main wait was taken, newest first
        public bool ForeignCancelReported;       // debug mode: a cancellation that found the task in a foreign await was logged
    }

    private TaskExtras Extras => _extras ??= new TaskExtras();

    // Bookkeeping.
    internal bool _foreignSuspended;         // suspended on a foreign await (counted as the loop's outside work of kind Foreign)
    internal bool _loopTimerThisStep;        // this step created a TimeProvider timer on the loop
    internal bool _bodyHooked;               // a completion hook is registered on _body (for ConfigureAwait(false) bodies)
    private protected bool _isCoroutine;        // the body is an async AioTask method's state machine (CoroutineTask)
    internal bool _coroutineSuspended;          // coroutine: the current step ended in a suspension (kept here, in the task's padding)
    internal AioTask? _prevLive, _nextLive;  // the loop's registry of pending tasks (intrusive list)

    internal AioTask(EventLoop loop, object? body, string? name) : base(loop)
    {
        _body = body;
        if (name is not null)
        {
            Extras.Name = name;
        }
        _number = loop.NextTaskNumber();
    }

    /// <summary>The task's name; defaults to <c>Task-N</c>. Read it from any thread; set it on the loop's thread.</summary>
    public string Name
    {
        get => _extras?.Name ?? $"Task-{_number}";
        set
        {
            ArgumentNullException.ThrowIfNull(value);
            _loop.CheckThread(nameof(Name));
            Extras.Name = value;
        }
    }

    /// <summary>Rethrows the task's exception, or throws <see cref="CancelledError"/>; returns if it succeeded.</summary>
    /// <exception cref="InvalidStateError">The task is not done yet.</exception>
    public void Result() => ThrowIfFailed();

    /// <summary>Lets <c>await task</c> suspend the current task until this one is done.</summary>
    public new AioAwaiter GetAwaiter() => new(this);

    // ----------------------------------------------------------------- description

    private protected override string TypeName => "Task";

    /// <summary>
    /// asyncio-style description: <c>&lt;Task pending name='Task-1'&gt;</c>, <c>&lt;Task finished name='worker'&gt;</c>;
    /// a coroutine's names its method: <c>&lt;Task pending name='Task-2' coro=Fetch&gt;</c>.
    /// </summary>
    public override string ToString()
    {
        string state = Done ? StateText : _cancelRequested ? "cancelling" : "pending";
        return CoroutineName is { } coro ? $"<Task {state} name='{Name}' coro={coro}>" : $"<Task {state} name='{Name}'>";
    }

    /// <summary>The per-task SynchronizationContext (foreign awaits come back as steps of this task) and the source of Aio's ValueTask waits.</summary>
    internal sealed class TaskContext(AioTask task) : EventLoop.LoopSynchronizationContext, ITaskStepSource
    {
        private readonly AioTask _task = task;

        public override EventLoop Loop => _task._loop;

        public override AioTask Task => _task;

        public ValueTaskSourceStatus GetStatus(short token) => _task.GetWaitStatus(token);

        public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
            _task.SetContinuation(token, continuation, state);

        public void GetResult(short token) => _task.EndWait(token);
    }
}
