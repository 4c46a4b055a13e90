// ParkedWait: how a primitive lets a task await a ParkingLot wait through the primitive's own
// IValueTaskSource, so the code that runs after the wake-up (take the item, keep the permit, or pass
// the wake-up on when the task was cancelled meanwhile) runs inside the awaiter's GetResult.
//
// Design note. ParkingLot.ParkAsync returns a ValueTask over the task's own source; a primitive that
// must act when the waiter resumes would otherwise wrap it in an async method, which costs a state
// machine box and, for a ValueTask, one more trip through the ready ring. Instead the primitive is the
// source: the token is the task's wait id, and every IValueTaskSource call is forwarded to the current
// task's source. That is sound because an Aio wait is awaited at once by the task that parked: the
// status check and OnCompleted run in the parking step, GetResult in the step the waker queued, and in
// all three the loop's current task is the parked task.
using System.Threading.Tasks.Sources;

namespace Aio.LowLevel;

/// <summary>
/// Lets a primitive written on <see cref="ParkingLot"/> be its own <c>IValueTaskSource</c>: park the current
/// task with <see cref="Park(ParkingLot)"/>, return <c>new ValueTask(this, token)</c>, and forward the
/// source's three calls here; <see cref="End"/> runs in the woken task, where the primitive takes what it was
/// woken for. No allocation per wait (the wait lives in the task). Await the ValueTask at once, once, in the
/// task that parked.
/// </summary>
public static class ParkedWait
{
    /// <summary>Parks the current task in <paramref name="lot"/> (at the back) and returns the token of its wait.</summary>
    /// <param name="lot">The lot to wait in.</param>
    /// <exception cref="InvalidOperationException">Not called inside an AioTask on the loop thread.</exception>
    public static short Park(ParkingLot lot)
    {
        ArgumentNullException.ThrowIfNull(lot);
        return Park(lot, Asyncio.CurrentTaskOrThrow(nameof(Park)));
    }

    /// <summary>Parks <paramref name="task"/> (the current task) in <paramref name="lot"/>; returns the token for the primitive's ValueTask.</summary>
    internal static short Park(ParkingLot lot, AioTask task) => (short)lot.ParkTask(task);

    /// <summary>The source's <c>GetStatus</c>: whether the wait of <paramref name="token"/> has been woken.</summary>
    /// <param name="loop">The primitive's loop.</param>
    /// <param name="token">The token <see cref="Park(ParkingLot)"/> returned.</param>
    public static ValueTaskSourceStatus GetStatus(EventLoop? loop, short token) => Current(loop).Context.GetStatus(token);

    /// <summary>The source's <c>OnCompleted</c>: resumes the parked task when it is woken.</summary>
    /// <param name="loop">The primitive's loop.</param>
    /// <param name="continuation">What the awaiter passed.</param>
    /// <param name="state">What the awaiter passed.</param>
    /// <param name="token">The token <see cref="Park(ParkingLot)"/> returned.</param>
    /// <param name="flags">What the awaiter passed.</param>
    public static void OnCompleted(EventLoop? loop, Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        Current(loop).Context.OnCompleted(continuation, state, token, flags);

    /// <summary>
    /// The source's <c>GetResult</c>. Ends the wait of the current task: throws what it was woken with (CancelledError if it was cancelled
    /// while parked, a shutdown or broken-barrier error), else returns the task, which was woken normally.
    /// </summary>
    /// <param name="loop">The primitive's loop.</param>
    /// <param name="token">The token <see cref="Park(ParkingLot)"/> returned.</param>
    public static AioTask End(EventLoop? loop, short token)
    {
        AioTask task = Current(loop);
        task.Context.GetResult(token);
        return task;
    }

    private static AioTask Current(EventLoop? loop) =>
        loop?.CurrentTaskInternal ?? throw new InvalidOperationException(
            "An Aio primitive's ValueTask was awaited outside the task that started the wait. Await each Aio operation once, at once, in the task that called it.");
}
