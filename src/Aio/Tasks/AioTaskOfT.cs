using System.Runtime.CompilerServices;
using Aio.Internal;

namespace Aio;

/// <summary>A task whose body returns a value of type <typeparamref name="T"/>; <c>await</c> it for the value.</summary>
/// <typeparam name="T">The type of the body's result.</typeparam>
/// <remarks>Belongs to its loop: use it on the loop's thread only. See <see cref="AioTask"/>.</remarks>
[AsyncMethodBuilder(typeof(AioTaskMethodBuilder<>))]
public class AioTask<T> : AioTask
{
    private protected T _result = default!;

    internal AioTask(EventLoop loop, object? body, string? name) : base(loop, body, name) { }

    private protected override Task InvokeBody(object start) => ((Func<Task<T>>)start)();

    private protected override void CaptureResult(Task body) => _result = ((Task<T>)body).Result;

    /// <summary>The body's result; rethrows its exception, or throws <see cref="CancelledError"/> if the task was cancelled.</summary>
    /// <exception cref="InvalidStateError">The task is not done yet.</exception>
    public new T Result()
    {
        ThrowIfFailed();
        return _result;
    }

    internal T ResultUnchecked => _result;

    /// <summary>The coroutine returned <paramref name="result"/> (builder's SetResult).</summary>
    internal void OnCoroutineReturned(T result)
    {
        _result = result;
        OnCoroutineReturned();
    }

    /// <summary>Lets <c>await task</c> suspend the current task until this one is done, and gives its result.</summary>
    public new AioTaskAwaiter<T> GetAwaiter() => new(this);

    /// <summary>A <see cref="Task{T}"/> that completes like this task.</summary>
    /// <remarks>Only the loop completes it: a blocking wait for it on the loop's thread is refused (it would never end).</remarks>
    public new Task<T> AsTask()
    {
        _loop.CheckThread(nameof(AsTask));
        return LoopGate<T>.ForFuture(this, static f => ((AioTask<T>)f).Result());
    }
}

/// <summary>A task with state passed to a static body, so hot paths create tasks without a closure.</summary>
internal sealed class StatefulTask<TState, T>(EventLoop loop, Func<TState, Task<T>> body, TState state, string? name)
    : AioTask<T>(loop, body, name)
{
    private TState _arg = state;

    private protected override Task InvokeBody(object start)
    {
        TState arg = _arg;
        _arg = default!;
        return ((Func<TState, Task<T>>)start)(arg);
    }
}

/// <summary>Awaiter of an <see cref="AioTask{T}"/>.</summary>
public readonly struct AioTaskAwaiter<T> : ICriticalNotifyCompletion
{
    private readonly AioTask<T> _task;

    internal AioTaskAwaiter(AioTask<T> task) => _task = task;

    /// <summary>True when the task is done (the await does not suspend).</summary>
    public bool IsCompleted => _task.IsCompletedForAwait();

    /// <summary>The task's result, or its exception rethrown.</summary>
    public T GetResult() => _task.Result();

    /// <inheritdoc />
    public void OnCompleted(Action continuation) => _task.OnAwait(continuation);

    /// <inheritdoc />
    public void UnsafeOnCompleted(Action continuation) => _task.OnAwait(continuation);
}
