// MessageEnumerator: `await foreach (var msg in ws)` without a hop through the loop per message.
//
// Design note. A compiler-generated async iterator completes its MoveNextAsync through a ManualResetValueTaskSourceCore,
// and so does a pooled async ValueTask method: an await that captured the loop's SynchronizationContext (every await in
// an Aio task does) is then always *posted* back to the loop — one more ready item and loop iteration per message, where
// an awaited Task would have continued at once. This enumerator is its own IValueTaskSource: it waits for the receive
// without capturing the context, and resumes the iterating task's continuation in place when the receive completes —
// which is always on the loop thread, inside that task's own step (the receive resumes from the task's parking lot or
// from a future of the loop). An await from another thread keeps its context (it is posted as usual).
using System.Runtime.CompilerServices;
using System.Threading.Tasks.Sources;

namespace Aio.Http.Internal;

internal sealed class MessageEnumerator : IAsyncEnumerator<WebSocketMessage>, IValueTaskSource<bool>
{
    private readonly AioWebSocket _socket;
    private readonly EventLoop _loop;
    private readonly Action _onReceived;
    private ManualResetValueTaskSourceCore<bool> _core;
    private ConfiguredValueTaskAwaitable<WebSocketMessage>.ConfiguredValueTaskAwaiter _pending;
    private bool _closed;

    public MessageEnumerator(AioWebSocket socket, EventLoop loop)
    {
        _socket = socket;
        _loop = loop;
        _onReceived = OnReceived;
        _core.RunContinuationsAsynchronously = false;
    }

    public WebSocketMessage Current { get; private set; } = null!;

    public ValueTask<bool> MoveNextAsync()
    {
        if (_closed)
        {
            return new ValueTask<bool>(false);
        }
        ValueTask<WebSocketMessage> next = _socket.ReceiveValueAsync();
        if (next.IsCompleted)
        {
            try
            {
                return new ValueTask<bool>(Take(next.Result));
            }
            catch (Exception e)
            {
                return ValueTask.FromException<bool>(e);
            }
        }
        _core.Reset();
        _pending = next.ConfigureAwait(false).GetAwaiter();   // not off-loop: the receive completes on the loop thread (see the note at the top)
        _pending.UnsafeOnCompleted(_onReceived);
        return new ValueTask<bool>(this, _core.Version);
    }

    private void OnReceived()
    {
        ConfiguredValueTaskAwaitable<WebSocketMessage>.ConfiguredValueTaskAwaiter pending = _pending;
        _pending = default;
        bool more;
        try
        {
            more = Take(pending.GetResult());
        }
        catch (Exception e)
        {
            _core.SetException(e);
            return;
        }
        _core.SetResult(more);
    }

    /// <summary>The peer's close ends the iteration (it is not yielded); anything else becomes <see cref="Current"/>.</summary>
    private bool Take(WebSocketMessage message)
    {
        if (message.Kind == WebSocketMessageKind.Close)
        {
            _closed = true;
            return false;
        }
        Current = message;
        return true;
    }

    bool IValueTaskSource<bool>.GetResult(short token) => _core.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource<bool>.GetStatus(short token) => _core.GetStatus(token);

    void IValueTaskSource<bool>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags)
    {
        if (Environment.CurrentManagedThreadId == _loop.OwnerThreadId)
        {
            flags &= ~ValueTaskSourceOnCompletedFlags.UseSchedulingContext;   // resumed in place, on the loop thread (see the note at the top)
        }
        _core.OnCompleted(continuation, state, token, flags);
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
