// LoopBound: awaits .NET's server WebSocket as loop work, not as foreign work.
//
// Design note. An Aio task that awaits a foreign Task counts as waiting for outside work: a virtual clock then gives
// it a slice of real time before jumping (the thread might deliver). The server's WebSocket is driven by the loop's own
// I/O (its stream is a protocol on the loop's transport), so its operations complete on the loop thread, from a
// callback the loop runs. Awaiting them through an AioFuture keeps virtual time jumping at once and saves the Task.
// A completion that does arrive on another thread (a contended mutex inside ManagedWebSocket hands over on the pool)
// is posted to the loop (or dropped once the loop is closed). An abandoned await (the task was cancelled) leaves the future to complete unobserved.
//
// LoopBoundWait is the same for an operation a socket repeats (the server's receive, once per message): it parks the
// awaiting task in its own ParkingLot and is the ValueTask's source itself (ParkedWait), so a wait allocates nothing —
// no future, no closure, no state machine box — and the woken task resumes in one step. Outside a task it falls back
// to AwaitAsync.
using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using System.Threading.Tasks.Sources;
using Aio.LowLevel;

namespace Aio.Http.Internal;

internal static class LoopBound
{
    public static ValueTask<T> AwaitAsync<T>(EventLoop loop, ValueTask<T> operation) =>
        operation.IsCompletedSuccessfully ? new ValueTask<T>(operation.Result) : new ValueTask<T>(SlowAsync(loop, operation));

    public static ValueTask AwaitAsync(EventLoop loop, ValueTask operation)
    {
        if (operation.IsCompletedSuccessfully)
        {
            operation.GetAwaiter().GetResult();
            return ValueTask.CompletedTask;
        }
        return new ValueTask(SlowAsync(loop, AsInt(operation)));
    }

    private static async ValueTask<int> AsInt(ValueTask operation)
    {
        await operation.ConfigureAwait(false);   // completes on the loop thread (see the note at the top)
        return 0;
    }

    private static async Task<T> SlowAsync<T>(EventLoop loop, ValueTask<T> operation)
    {
        var future = loop.CreateFuture<T>();
        ConfiguredValueTaskAwaitable<T>.ConfiguredValueTaskAwaiter awaiter = operation.ConfigureAwait(false).GetAwaiter();
        awaiter.UnsafeOnCompleted(() =>
        {
            if (Environment.CurrentManagedThreadId == loop.OwnerThreadId)
            {
                Complete(future, awaiter);
            }
            else
            {
                PostToLoop(loop, () => Complete(future, awaiter));
            }
        });
        return await future;
    }

    /// <summary>
    /// Posts a completion that arrived on another thread. One that arrives after the loop closed (an abandoned await,
    /// finished by ManagedWebSocket's abort on the pool) has nobody left to tell: it is dropped, not thrown on a pool
    /// thread, where it would end the process.
    /// </summary>
    private static void PostToLoop(EventLoop loop, Action callback)
    {
        if (loop.IsClosed)
        {
            return;
        }
        try
        {
            loop.CallSoonThreadSafe(callback);
        }
        catch (InvalidOperationException) when (loop.IsClosed)
        {
            // Closed between the check and the call.
        }
    }

    private static void Complete<T>(AioFuture<T> future, ConfiguredValueTaskAwaitable<T>.ConfiguredValueTaskAwaiter awaiter)
    {
        if (future.Done)
        {
            return;
        }
        try
        {
            future.SetResult(awaiter.GetResult());
        }
        catch (Exception e)
        {
            future.SetException(e);      // an OperationCanceledException cancels the future instead
            if (!future.Cancelled)
            {
                _ = future.Exception();  // retrieved: an abandoned await must not be reported as an unobserved error
            }
        }
    }
}

/// <summary>
/// A reusable <see cref="LoopBound.AwaitAsync{T}(EventLoop, ValueTask{T})"/> for one operation at a time (a socket's
/// receive): the awaiting task parks in a lot of its own and is woken when the operation completes; the result is kept
/// here until the task takes it. Results and errors are what AwaitAsync gives, an OperationCanceledException included
/// (it is raised as <see cref="CancelledError"/>, as a cancelled future raises it).
/// </summary>
internal sealed class LoopBoundWait<T> : IValueTaskSource<T>
{
    private readonly EventLoop _loop;
    private readonly ParkingLot _lot;
    private readonly Action _onCompleted;
    private readonly Action _wakeOnLoop;
    private ConfiguredValueTaskAwaitable<T>.ConfiguredValueTaskAwaiter _awaiter;
    private T _result = default!;
    private Exception? _error;

    public LoopBoundWait(EventLoop loop, object owner)
    {
        _loop = loop;
        _lot = new ParkingLot(owner);
        _onCompleted = OnOperationCompleted;
        _wakeOnLoop = Wake;
    }

    /// <summary>Awaits <paramref name="operation"/> as loop work. Await the result at once, once, in the calling task.</summary>
    public ValueTask<T> AwaitAsync(ValueTask<T> operation)
    {
        if (operation.IsCompleted)
        {
            return operation;
        }
        if (_loop.CurrentTask is null)
        {
            return LoopBound.AwaitAsync(_loop, operation);    // not in a task: nothing to park
        }
        short token = ParkedWait.Park(_lot);
        _error = null;
        _awaiter = operation.ConfigureAwait(false).GetAwaiter();
        _awaiter.UnsafeOnCompleted(_onCompleted);
        return new ValueTask<T>(this, token);
    }

    private void OnOperationCompleted()
    {
        try
        {
            _result = _awaiter.GetResult();
        }
        catch (Exception e)
        {
            _error = e;
        }
        _awaiter = default;
        if (Environment.CurrentManagedThreadId == _loop.OwnerThreadId)
        {
            Wake();
            return;
        }
        // A contended mutex inside ManagedWebSocket handed over on the pool: wake the task from the loop; after the
        // loop closed nobody waits any more (an abandoned receive finished by the abort), so the result is dropped.
        if (_loop.IsClosed)
        {
            return;
        }
        try
        {
            _loop.CallSoonThreadSafe(_wakeOnLoop);
        }
        catch (InvalidOperationException) when (_loop.IsClosed)
        {
            // Closed between the check and the call.
        }
    }

    private void Wake() => _lot.UnparkOne();       // no-op when the task was cancelled meanwhile (it left the lot)

    ValueTaskSourceStatus IValueTaskSource<T>.GetStatus(short token) => ParkedWait.GetStatus(_loop, token);

    void IValueTaskSource<T>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        ParkedWait.OnCompleted(_loop, continuation, state, token, flags);

    T IValueTaskSource<T>.GetResult(short token)
    {
        ParkedWait.End(_loop, token);      // CancelledError if the task was cancelled while parked
        if (_error is { } error)
        {
            _error = null;
            if (error is OperationCanceledException and not CancelledError)
            {
                throw new CancelledError(error.Message, error);
            }
            ExceptionDispatchInfo.Throw(error);
        }
        T result = _result;
        _result = default!;
        return result;
    }
}
