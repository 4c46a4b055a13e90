using System.Runtime.CompilerServices;
using Aio.Internal;

namespace Aio;

/// <summary>A value that will be set later, on one loop (asyncio's <c>Future</c>); <c>await</c> it for the value.</summary>
/// <typeparam name="T">The type of the value.</typeparam>
/// <remarks>Belongs to its loop: use it on the loop's thread only. See <see cref="AioFuture"/>.</remarks>
public class AioFuture<T> : AioFuture
{
    private T _result = default!;

    internal AioFuture(EventLoop loop) : base(loop) { }

    /// <summary>Creates a pending future on the running loop (prefer <see cref="EventLoop.CreateFuture{T}"/>).</summary>
    /// <exception cref="InvalidOperationException">No loop is running on this thread.</exception>
    public AioFuture() : base(EventLoop.GetRunningLoop()) { }

    /// <summary>The value; rethrows the future's exception, or throws <see cref="CancelledError"/> if it was cancelled.</summary>
    /// <exception cref="InvalidStateError">The future is not done yet.</exception>
    public T Result()
    {
        _loop.CheckThread(nameof(Result));
        ThrowIfFailed();
        return _result;
    }

    internal T ResultUnchecked => _result;

    /// <summary>Ends the future with <paramref name="value"/> and schedules its callbacks.</summary>
    /// <exception cref="InvalidStateError">The future is already done.</exception>
    public void SetResult(T value)
    {
        CheckSettable(nameof(SetResult));
        _result = value;
        Complete(FutureState.Succeeded);
    }

    /// <summary>Sets the value unless the future is already done; returns whether it did.</summary>
    public bool TrySetResult(T value)
    {
        _loop.CheckThread(nameof(TrySetResult));
        if (Done)
        {
            return false;
        }
        _result = value;
        Complete(FutureState.Succeeded);
        return true;
    }

    /// <summary>Sets the exception unless the future is already done; returns whether it did.</summary>
    public bool TrySetException(Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        if (Done)
        {
            return false;
        }
        SetException(exception);
        return true;
    }

    /// <summary>Adds a typed done callback; see <see cref="AioFuture.AddDoneCallback(Action{AioFuture})"/>.</summary>
    public void AddDoneCallback(Action<AioFuture<T>> callback)
    {
        ArgumentNullException.ThrowIfNull(callback);
        base.AddDoneCallback(new TypedCallback(callback).Invoke);
    }

    /// <summary>Removes every registration of the typed <paramref name="callback"/>; returns how many were removed.</summary>
    public int RemoveDoneCallback(Action<AioFuture<T>> callback)
    {
        _loop.CheckThread(nameof(RemoveDoneCallback));
        return RemoveCallbacksWhere(target => DoneCallbackInContext.Unwrap(target) is { Target: TypedCallback t } && t.Callback == callback);
    }

    /// <summary>A typed done callback adapted to the base signature; remembers the original so it can be removed.</summary>
    private sealed class TypedCallback(Action<AioFuture<T>> callback)
    {
        public Action<AioFuture<T>> Callback { get; } = callback;

        public void Invoke(AioFuture future) => Callback((AioFuture<T>)future);
    }

    /// <summary>Lets <c>await future</c> suspend the current task until the value is there.</summary>
    public new AioAwaiter<T> GetAwaiter() => new(this);

    /// <summary>A <see cref="Task{T}"/> that completes like this future.</summary>
    /// <remarks>Only the loop completes it: a blocking wait for it on the loop's thread is refused (it would never end).</remarks>
    public new Task<T> AsTask()
    {
        _loop.CheckThread(nameof(AsTask));
        return LoopGate<T>.ForFuture(this, static f => ((AioFuture<T>)f).Result());
    }
}

/// <summary>Awaiter of an <see cref="AioFuture{T}"/>.</summary>
public readonly struct AioAwaiter<T> : ICriticalNotifyCompletion
{
    private readonly AioFuture<T> _future;

    internal AioAwaiter(AioFuture<T> future) => _future = future;

    /// <summary>True when the future is done (the await does not suspend).</summary>
    public bool IsCompleted => _future.IsCompletedForAwait();

    /// <summary>The value, or the future's exception rethrown.</summary>
    public T GetResult() => _future.Result();

    /// <inheritdoc />
    public void OnCompleted(Action continuation) => _future.OnAwait(continuation);

    /// <inheritdoc />
    public void UnsafeOnCompleted(Action continuation) => _future.OnAwait(continuation);
}
