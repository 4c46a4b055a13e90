using System.Diagnostics;

namespace Aio;

/// <summary>
/// A callback scheduled on an <see cref="EventLoop"/> by <see cref="EventLoop.CallSoon(Action)"/> or
/// <see cref="EventLoop.CallSoonThreadSafe(Action)"/>; <see cref="Cancel"/> keeps it from running.
/// </summary>
/// <remarks>Created only by the loop. The callback runs in the <see cref="ExecutionContext"/> captured when it was scheduled.</remarks>
[DebuggerDisplay("{ToString(),nq}")]
public class Handle
{
    private readonly Delegate _callback;           // Action, or the Action<TState> of a StateHandle
    private readonly ExecutionContext? _context;   // captured when scheduled, if it differs from the loop's own; the callback runs in it
    private volatile bool _cancelled;

    internal Handle(EventLoop loop, Delegate callback)
    {
        _callback = callback;
        ExecutionContext? context = ExecutionContext.Capture();
        _context = ReferenceEquals(context, loop.BaseExecutionContext) ? null : context;
    }

    /// <summary>True once <see cref="Cancel"/> was called.</summary>
    public bool Cancelled => _cancelled;

    /// <summary>
    /// Keeps the callback from running if it has not run yet; does nothing otherwise. Idempotent.
    /// </summary>
    public virtual void Cancel() => _cancelled = true;

    /// <summary>A short description of the callback, for logs (the callback's method name).</summary>
    public string CallbackName => _callback.Method.DeclaringType is { } t ? $"{t.Name}.{_callback.Method.Name}" : _callback.Method.Name;

    internal void Run()
    {
        if (_cancelled)
        {
            return;
        }
        if (_context is null)
        {
            Invoke(this);
        }
        else
        {
            ExecutionContext.Run(_context, static s => Invoke((Handle)s!), this);
        }
    }

    private static void Invoke(Handle h) => h.Invoke();

    /// <summary>Calls the callback (a <see cref="StateHandle{TState}"/> passes its state).</summary>
    private protected virtual void Invoke() => ((Action)_callback)();

    private protected Delegate Callback => _callback;

    /// <summary>asyncio-style description: <c>&lt;Handle Program.Tick&gt;</c>, with <c>cancelled</c> when cancelled.</summary>
    public override string ToString() => _cancelled ? $"<{GetType().Name} cancelled {CallbackName}>" : $"<{GetType().Name} {CallbackName}>";
}

/// <summary>A handle whose callback takes a typed state: no wrapper delegate, no boxing.</summary>
internal sealed class StateHandle<TState>(EventLoop loop, Action<TState> callback, TState state) : Handle(loop, callback)
{
    private readonly TState _state = state;

    private protected override void Invoke() => ((Action<TState>)Callback)(_state);
}

/// <summary>A callback scheduled for a point in loop time by <see cref="EventLoop.CallLater(double, Action)"/> or <see cref="EventLoop.CallAt(double, Action)"/>.</summary>
public sealed class TimerHandle : Handle
{
    internal bool InHeap;

    internal TimerHandle(EventLoop loop, double when, Delegate callback) : base(loop, callback)
    {
        Loop = loop;
        When = when;
    }

    /// <summary>The loop the timer is scheduled on.</summary>
    public EventLoop Loop { get; }

    /// <summary>The loop time (seconds, <see cref="EventLoop.Time"/>) at which the callback is due.</summary>
    public double When { get; }

    /// <summary>Keeps the callback from running; the loop drops the timer lazily. Call it on the loop's thread.</summary>
    public override void Cancel()
    {
        if (Cancelled)
        {
            return;
        }
        Loop.CheckThread(nameof(Cancel));
        base.Cancel();
        if (InHeap)
        {
            Loop.OnTimerCancelled();
        }
    }

    /// <summary>asyncio-style description including the due time.</summary>
    public override string ToString() => $"<TimerHandle{(Cancelled ? " cancelled" : "")} when={When:0.000} {CallbackName}>";
}
