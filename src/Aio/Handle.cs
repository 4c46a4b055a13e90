// Handle: what CallSoon returns.
//
// Design note. CallSoon is the loop's hottest public entry point (W1: a million callbacks scheduled
// in one burst, all pending at once). A Handle object per call cost an allocation and, worse, a
// million live objects for gen0 collections to promote. So Handle is a small struct, and a CallSoon
// callback lives only in its ready-ring entry. What a struct cannot hold is the one mutable bit,
// "cancelled", which every copy must see:
//   - CallSoon handles are numbered in scheduling order. Their ring entries run in FIFO order, so
//     the loop knows each entry's number when its turn comes (EventLoop._handleTurn) and which
//     handles are still pending. 64 consecutive handles share one small HandleBlock with their
//     cancel bits: Cancel of a pending handle sets its bit, and the loop, which walks the blocks in
//     step with the turns, skips the entry. The bit lives exactly as long as the loop still needs it
//     or some copy of a handle refers to it: no table in the loop grows with cancellations, and a
//     kept handle keeps a 48-byte block alive.
//   - CallSoonThreadSafe handles (and signal callbacks) are rare and may be cancelled from any
//     thread: they keep a small object (HandleBox) with a volatile flag, as before.
// Cancel after the callback's turn does nothing: Cancelled then stays false for a callback that
// ran, and true for one that was skipped.
using System.Diagnostics;

namespace Aio;

/// <summary>
/// A callback scheduled on an <see cref="EventLoop"/> by <see cref="EventLoop.CallSoon(Action)"/> or
/// <see cref="EventLoop.CallSoonThreadSafe(Action)"/>; <see cref="Cancel"/> keeps it from running.
/// </summary>
/// <remarks>
/// <para>A small value: copies of a handle are the same handle (they compare equal, and cancelling one
/// cancels them all). Created only by the loop; <c>default(Handle)</c> refers to no callback.</para>
/// <para>The callback runs in the <see cref="ExecutionContext"/> captured when it was scheduled.</para>
/// <para>Unlike asyncio's <c>Handle.cancel()</c>, cancelling after the callback ran changes nothing:
/// <see cref="Cancelled"/> tells whether the callback was (or will be) skipped.</para>
/// </remarks>
[DebuggerDisplay("{ToString(),nq}")]
public readonly struct Handle : IEquatable<Handle>
{
    private readonly object? _owner;       // HandleBlock (CallSoon) or HandleBox (CallSoonThreadSafe, signals); null for default(Handle)
    private readonly Delegate? _callback;  // the callback as scheduled, for CallbackName and ToString
    private readonly long _id;             // with a HandleBlock: the handle's number on its loop (scheduling order); else 0

    internal Handle(HandleBlock block, long id, Delegate callback)
    {
        _owner = block;
        _callback = callback;
        _id = id;
    }

    internal Handle(HandleBox box)
    {
        _owner = box;
        _callback = box.Callback;
    }

    /// <summary>
    /// True once <see cref="Cancel"/> was called before the callback's turn: the callback was, or will be,
    /// skipped. False for a callback that ran, even if <see cref="Cancel"/> was called afterwards.
    /// </summary>
    public bool Cancelled => _owner switch
    {
        HandleBlock block => block.IsCancelled(_id),
        HandleBox box => box.Cancelled,
        _ => false,
    };

    /// <summary>
    /// Keeps the callback from running if its turn has not come yet; does nothing otherwise. Idempotent.
    /// A handle from <see cref="EventLoop.CallSoon(Action)"/> must be cancelled on the loop's thread; one
    /// from <see cref="EventLoop.CallSoonThreadSafe(Action)"/> may be cancelled from any thread.
    /// </summary>
    /// <exception cref="InvalidOperationException">A <see cref="EventLoop.CallSoon(Action)"/> handle cancelled from another thread.</exception>
    public void Cancel()
    {
        switch (_owner)
        {
            case HandleBlock block:
                block.Loop.CancelHandle(block, _id);
                break;
            case HandleBox box:
                box.Cancel();
                break;
        }
    }

    /// <summary>A short description of the callback, for logs (the callback's method name); empty for <c>default(Handle)</c>.</summary>
    public string CallbackName => _callback is null ? "" : EventLoop.DescribeCallback(_callback);

    /// <summary>asyncio-style description: <c>&lt;Handle Program.Tick&gt;</c>, with <c>cancelled</c> when cancelled.</summary>
    public override string ToString() => Cancelled ? $"<Handle cancelled {CallbackName}>" : $"<Handle {CallbackName}>";

    /// <summary>True when both refer to the same scheduled callback.</summary>
    public bool Equals(Handle other) => ReferenceEquals(_owner, other._owner) && _id == other._id;

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is Handle other && Equals(other);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(_owner, _id);

    /// <summary>True when both refer to the same scheduled callback.</summary>
    public static bool operator ==(Handle left, Handle right) => left.Equals(right);

    /// <summary>True when they refer to different scheduled callbacks.</summary>
    public static bool operator !=(Handle left, Handle right) => !left.Equals(right);
}

/// <summary>
/// The cancel bits of 64 consecutive <see cref="EventLoop.CallSoon(Action)"/> handles (numbers
/// <see cref="FirstId"/> … +63). Shared by their <see cref="Handle"/> copies, so a bit lives as long as a
/// handle that can read it. Loop thread only.
/// </summary>
internal sealed class HandleBlock(EventLoop loop, long firstId)
{
    public const int Size = 64;

    public readonly EventLoop Loop = loop;
    public readonly long FirstId = firstId;
    public HandleBlock? Next;   // the following block while this one's turns have not all passed; null afterwards
    private ulong _cancelled;   // bit (id - FirstId): Cancel was called before that handle's turn

    public bool IsCancelled(long id) => (_cancelled & (1UL << (int)(id - FirstId))) != 0;

    public void MarkCancelled(long id) => _cancelled |= 1UL << (int)(id - FirstId);
}

/// <summary>What the ready ring runs for a <see cref="TimerHandle"/> or a <see cref="HandleBox"/>.</summary>
internal interface IScheduledCallback
{
    /// <summary>The callback, for error reports and the watchdog.</summary>
    Action Callback { get; }

    /// <summary>Runs the callback in its captured context, unless cancelled.</summary>
    void Run();
}

/// <summary>
/// A callback posted from any thread (<see cref="EventLoop.CallSoonThreadSafe(Action)"/>, signal handlers):
/// an object with a volatile cancel flag, since it may be cancelled from any thread.
/// </summary>
internal sealed class HandleBox : IScheduledCallback
{
    private readonly ExecutionContext? _context;   // captured when posted, if it differs from the loop's own
    private volatile bool _cancelled;

    public HandleBox(EventLoop loop, Action callback)
    {
        Callback = callback;
        _context = loop.CaptureContext();
    }

    public Action Callback { get; }

    public bool Cancelled => _cancelled;

    public void Cancel() => _cancelled = true;

    public void Run()
    {
        if (!_cancelled)
        {
            EventLoop.RunInContext(Callback, _context);
        }
    }
}

/// <summary>A callback scheduled for a point in loop time by <see cref="EventLoop.CallLater(double, Action)"/> or <see cref="EventLoop.CallAt(double, Action)"/>.</summary>
/// <remarks>Created only by the loop. The callback runs in the <see cref="ExecutionContext"/> captured when it was scheduled.</remarks>
[DebuggerDisplay("{ToString(),nq}")]
public sealed class TimerHandle : IScheduledCallback
{
    private readonly Action _callback;
    private readonly ExecutionContext? _context;   // captured when scheduled, if it differs from the loop's own
    private bool _cancelled;
    internal bool InHeap;

    internal TimerHandle(EventLoop loop, double when, Action callback)
    {
        Loop = loop;
        When = when;
        _callback = callback;
        _context = loop.CaptureContext();
    }

    /// <summary>The loop the timer is scheduled on.</summary>
    public EventLoop Loop { get; }

    /// <summary>The loop time (seconds, <see cref="EventLoop.Time"/>) at which the callback is due.</summary>
    public double When { get; }

    /// <summary>True once <see cref="Cancel"/> was called.</summary>
    public bool Cancelled => _cancelled;

    /// <summary>A short description of the callback, for logs (the callback's method name).</summary>
    public string CallbackName => EventLoop.DescribeCallback(_callback);

    Action IScheduledCallback.Callback => _callback;

    /// <summary>Keeps the callback from running; the loop drops the timer lazily. Idempotent. Call it on the loop's thread.</summary>
    public void Cancel()
    {
        if (_cancelled)
        {
            return;
        }
        Loop.CheckThread(nameof(Cancel));
        _cancelled = true;
        if (InHeap)
        {
            Loop.OnTimerCancelled();
        }
    }

    void IScheduledCallback.Run()
    {
        if (!_cancelled)
        {
            EventLoop.RunInContext(_callback, _context);
        }
    }

    /// <summary>asyncio-style description including the due time.</summary>
    public override string ToString() => $"<TimerHandle{(_cancelled ? " cancelled" : "")} when={When:0.000} {CallbackName}>";
}
