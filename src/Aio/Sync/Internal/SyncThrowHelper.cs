using System.Diagnostics.CodeAnalysis;

namespace Aio.Sync.Internal;

/// <summary>
/// Every error message of the primitives and queues in one place. Each says what happened, on which
/// object, and what to do.
/// </summary>
internal static class SyncThrowHelper
{
    [DoesNotReturn]
    public static void OtherLoop(object primitive, EventLoop bound, EventLoop running, string member) =>
        throw new InvalidOperationException(
            $"{member}: {primitive} belongs to {bound}, but it is used on {running}. A primitive belongs to the loop " +
            "it was first used on; create one per loop.");

    [DoesNotReturn]
    public static void ReleaseUnlocked(object primitive) =>
        throw new InvalidOperationException(
            $"Release was called on {primitive}, which is not locked. Release only what you acquired; prefer " +
            "'using (await x.AcquireAsync())' so each acquisition is released exactly once.");

    [DoesNotReturn]
    public static void SemaphoreOverReleased(object semaphore, int bound) =>
        throw new InvalidOperationException(
            $"Release was called on {semaphore} more times than it was acquired (its bound is {bound}). " +
            "Release only permits you acquired, or use AioSemaphore if releases may exceed the initial value.");

    [DoesNotReturn]
    public static void NegativeValue(string paramName, int value) =>
        throw new ArgumentOutOfRangeException(paramName, value, "A semaphore's initial value must be 0 or more.");

    [DoesNotReturn]
    public static void ConditionNotLocked(object condition, string member) =>
        throw new InvalidOperationException(
            $"{member} requires {condition}'s lock, which is not locked. Acquire it first: " +
            "'using (await condition.AcquireAsync()) { ... }'.");

    [DoesNotReturn]
    public static void ConditionLockedByOther(object condition, string member, AioTask owner) =>
        throw new InvalidOperationException(
            $"{member} requires {condition}'s lock, but it is held by {owner}, not by the current task. " +
            "Acquire the condition's lock in this task first.");

    [DoesNotReturn]
    public static void BadParties(int parties) =>
        throw new ArgumentOutOfRangeException(nameof(parties), parties, "A barrier needs at least 1 party.");

    [DoesNotReturn]
    public static void TaskDoneTooOften(object queue) =>
        throw new InvalidOperationException(
            $"TaskDone was called on {queue} more times than items were put. Call it once per item you got, after processing it.");

    public static QueueFullException QueueFull(object queue) =>
        new($"{queue} is full; PutNowait cannot wait. Await PutAsync to wait for a free slot, or use TryPut.");

    public static QueueEmptyException QueueEmpty(object queue) =>
        new($"{queue} is empty; GetNowait cannot wait. Await GetAsync to wait for an item, or use TryGet.");

    [DoesNotReturn]
    public static void TooManyPutters(object queue) =>
        throw new InvalidOperationException($"{queue} already has 65,535 tasks waiting to put into it; no more can wait. Bound the number of producers, or use a larger maxsize.");

    [DoesNotReturn]
    public static void PutNotPending(object queue) =>
        throw new InvalidOperationException($"{queue}: a putter resumed without a pending item. Await each PutAsync once, at once, in the task that called it.");

    public static QueueShutDownException PutAfterShutdown(object queue) =>
        new($"{queue} is shut down; no more items can be put. Stop producing once the queue is shut down.");

    public static QueueShutDownException GetAfterShutdown(object queue) =>
        new($"{queue} is shut down and has no items left to get. Stop consuming: 'await foreach' over the queue ends here by itself.");

    public static BrokenBarrierError BarrierBroken(object barrier) =>
        new($"{barrier} is broken (it was aborted or reset while this task waited). Reset it with ResetAsync before reusing it.");
}
