namespace Aio;

/// <summary>An internal done callback that needs no delegate: the future calls it (through the ready ring) with the argument it was registered with.</summary>
internal interface IFutureListener
{
    /// <summary>Called on the loop thread, from the ready ring, after <paramref name="future"/> is done.</summary>
    void OnFutureDone(AioFuture future, int arg);
}

/// <summary>
/// An internal listener that runs no user code (pure bookkeeping that at most completes another future,
/// whose own callbacks go through the ring): the future calls it at once when done instead of queueing it.
/// </summary>
internal interface IInlineFutureListener : IFutureListener
{
}

/// <summary>What a suspended task's wait does when the task's scope is cancelled while it waits.</summary>
internal interface IWaitAbort
{
    /// <summary>
    /// The scope of <paramref name="task"/> was cancelled while it waited in suspension <paramref name="waitId"/>.
    /// Return true to resume the task now with <see cref="CancelledError"/>; return false when the wait
    /// will resume the task itself (for example after cancelling the future it awaits).
    /// </summary>
    bool AbortWait(AioTask task, int waitId, string? message);
}
