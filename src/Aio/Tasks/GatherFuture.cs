namespace Aio;

/// <summary>
/// The future behind <see cref="Asyncio.Gather{T}(AioTask{T}[])"/>: results in argument order; the first
/// failure (or cancelled child) ends it, the others keep running; cancelling it cancels every child and it
/// ends cancelled once a child reports back.
/// Its per-child bookkeeping runs inline when a child completes (<see cref="IInlineFutureListener"/>): it
/// runs no user code, and the gather's own waiters are still resumed through the ready ring. That saves
/// one ring entry per child (W2).
/// </summary>
internal sealed class GatherFuture<T> : AioFuture<T[]>, IInlineFutureListener
{
    private readonly AioTask[] _children;
    private readonly AioTask<T>[]? _typed;      // _children when it is an AioTask<T>[] (Gather<T>): results read without a type test per child
    private readonly T[] _results;
    private readonly Outcome<T>[]? _outcomes;   // settled mode (GatherSettled)
    private int _finished;
    private bool _cancelRequested;
    private string? _cancelMessage;             // the message of the Cancel that cancelled the children

    public GatherFuture(EventLoop loop, AioTask[] children, bool settled) : base(loop)
    {
        _children = children;
        _typed = children as AioTask<T>[];
        _results = new T[children.Length];
        _outcomes = settled ? new Outcome<T>[children.Length] : null;
        for (int i = 0; i < children.Length; i++)
        {
            children[i].AddListener(this, i);
        }
    }

    public Outcome<T>[] Outcomes => _outcomes!;

    public void OnFutureDone(AioFuture child, int index)
    {
        _finished++;
        if (Done)
        {
            child.MarkRetrieved(); // asyncio: exceptions of children finishing after gather ended are not reported
            return;
        }
        if (_outcomes is not null)
        {
            _outcomes[index] = child.Cancelled
                ? new Outcome<T> { Exception = child.MakeCancelledErrorInternal() }
                : child.IsFaulted ? new Outcome<T> { Exception = child.Exception() } : new Outcome<T> { Value = ValueOf(child, index) };
        }
        else if (child.Cancelled)
        {
            SetException(child.MakeCancelledErrorInternal()); // with the child's cancel message, as in asyncio
            return;
        }
        else if (child.IsFaulted)
        {
            SetException(child.Exception()!);
            return;
        }
        else
        {
            _results[index] = ValueOf(child, index);
        }
        if (_finished == _children.Length)
        {
            if (_cancelRequested)
            {
                SetException(new CancelledError(_cancelMessage ?? "Gather was cancelled."));
            }
            else
            {
                SetResult(_results);
            }
        }
    }

    private T ValueOf(AioFuture child, int index) =>
        _typed is { } typed ? typed[index].ResultUnchecked : child is AioTask<T> t ? t.ResultUnchecked : default!;

    /// <summary>Cancelling the gather cancels every child not done yet; it ends when they report back.</summary>
    public override bool Cancel(string? message = null)
    {
        if (Done)
        {
            return false;
        }
        bool any = false;
        foreach (AioTask child in _children)
        {
            any |= child.Cancel(message);
        }
        if (any && !_cancelRequested)
        {
            _cancelRequested = true;
            _cancelMessage = message;
        }
        return any;
    }
}
