using System.Threading.Tasks.Sources;
using Aio.Net;

namespace Aio.Streams.Internal;

/// <summary>
/// A reusable one-at-a-time wait for the adapters that foreign code awaits (SslStream, WebSocket, pipes):
/// unlike a parked task it needs no current AioTask. It completes on the loop thread with no
/// SynchronizationContext installed, so a <c>ConfigureAwait(false)</c> continuation (all of SslStream's)
/// runs inline on the loop thread instead of being sent to the thread pool – the trap described in docs/design.md ("How the loop knows the current task").
/// A continuation that captured a context (a user's plain <c>await</c>) is posted to that context as usual.
/// </summary>
internal sealed class LoopValueTaskSource<T> : IValueTaskSource<T>
{
    private ManualResetValueTaskSourceCore<T> _core;   // RunContinuationsAsynchronously = false: see the summary
    private CancellationTokenRegistration _registration;

    public LoopValueTaskSource() => _core.RunContinuationsAsynchronously = false;

    /// <summary>True between <see cref="Start"/> and completion.</summary>
    public bool Pending { get; private set; }

    /// <summary>Starts a wait; <paramref name="onCancel"/> runs (any thread) if <paramref name="token"/> is cancelled first.</summary>
    public ValueTask<T> Start(Action<object?>? onCancel, object? state, CancellationToken token)
    {
        _core.Reset();
        Pending = true;
        if (token.CanBeCanceled && onCancel is not null)
        {
            _registration = token.UnsafeRegister(onCancel, state);
        }
        return new ValueTask<T>(this, _core.Version);
    }

    public void SetResult(T value)
    {
        if (TryBeginCompletion(out SynchronizationContext? saved))
        {
            try
            {
                _core.SetResult(value);
            }
            finally
            {
                SynchronizationContext.SetSynchronizationContext(saved);
            }
        }
    }

    public void SetException(Exception error)
    {
        if (TryBeginCompletion(out SynchronizationContext? saved))
        {
            try
            {
                _core.SetException(error);
            }
            finally
            {
                SynchronizationContext.SetSynchronizationContext(saved);
            }
        }
    }

    /// <summary>
    /// Starts completing the pending operation (once): drops the cancellation registration and clears the
    /// thread's SynchronizationContext so the core queues the continuation instead of running it inline; the
    /// caller restores <paramref name="saved"/>. False when nothing is pending.
    /// </summary>
    private bool TryBeginCompletion(out SynchronizationContext? saved)
    {
        saved = null;
        if (!Pending)
        {
            return false;
        }
        Pending = false;
        _registration.Dispose();
        _registration = default;
        saved = SynchronizationContext.Current;
        SynchronizationContext.SetSynchronizationContext(null);
        return true;
    }

    public T GetResult(short token) => _core.GetResult(token);

    public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);
}
