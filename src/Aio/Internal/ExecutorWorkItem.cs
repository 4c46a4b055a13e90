using Aio.LowLevel;

namespace Aio.Internal;

/// <summary>
/// A <see cref="LoopExecutor"/> item whose outcome completes an <see cref="AioFuture{T}"/> on the loop.
/// States: queued → running → done, or queued → cancelled when the future is cancelled before a worker
/// took the item (a running item is never interrupted; its late outcome is dropped).
/// </summary>
internal sealed class ExecutorWorkItem<T> : ExecutorItem
{
    private const int Queued = 0, Running = 1, Cancelled = 2;

    private readonly EventLoop _loop;
    private readonly ExecutorFuture<T> _future;
    private readonly Func<T> _work;
    private readonly ExecutionContext? _context;   // captured at submission; null when flow was suppressed
    private int _state;                            // Queued, Running or Cancelled (Interlocked)
    private T _result = default!;                  // written by the worker before the post
    private Exception? _error;                     // written by the worker before the post

    public ExecutorWorkItem(EventLoop loop, ExecutorFuture<T> future, Func<T> work)
    {
        _loop = loop;
        _future = future;
        _work = work;
        _context = ExecutionContext.Capture();
    }

    public override string Describe() =>
        _work.Method.DeclaringType is { } t ? $"{t.Name}.{_work.Method.Name}" : _work.Method.Name;

    public override void Execute()
    {
        if (Interlocked.CompareExchange(ref _state, Running, Queued) != Queued)
        {
            return; // cancelled while queued: the loop already stopped counting it
        }
        if (_context is null)
        {
            RunWork();
        }
        else
        {
            ExecutionContext.Run(_context, static s => ((ExecutorWorkItem<T>)s!).RunWork(), this);
        }
        _loop.TryPostItem(new ReadyItem { Kind = ReadyKind.Action, Callback = s_complete, State = this });
    }

    private void RunWork()
    {
        try
        {
            _result = _work();
        }
        catch (Exception e)
        {
            _error = e;
        }
    }

    private static readonly Action<object?> s_complete = static s =>
    {
        var item = (ExecutorWorkItem<T>)s!;
        item._loop.EndOutsideWork(OutsideWorkKind.Reporting);
        if (item._future.Done)
        {
            return; // the caller stopped waiting (cancelled); the outcome is dropped, as asyncio does
        }
        if (item._error is null)
        {
            item._future.SetResult(item._result);
        }
        else
        {
            item._future.SetException(item._error);
        }
    };

    /// <summary>Loop thread, when the future is cancelled: if no worker took the item yet, it never runs.</summary>
    public void OnCancelled()
    {
        if (Interlocked.CompareExchange(ref _state, Cancelled, Queued) == Queued)
        {
            _loop.EndOutsideWork(OutsideWorkKind.Reporting);
        }
    }
}

/// <summary>The future of an executor item: cancelling it withdraws the item at once if it is still queued.</summary>
internal sealed class ExecutorFuture<T>(EventLoop loop) : AioFuture<T>(loop)
{
    internal ExecutorWorkItem<T>? Item;

    public override bool Cancel(string? message = null)
    {
        if (!base.Cancel(message))
        {
            return false;
        }
        Item?.OnCancelled();
        return true;
    }
}
