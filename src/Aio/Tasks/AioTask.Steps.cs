// AioTask, steps: the first step, finishing from the body, coroutine steps (see AioTask.cs).
using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace Aio;

public partial class AioTask
{
    // ----------------------------------------------------------------- steps

    internal TaskContext Context => _context ?? CreateContext();

    [MethodImpl(MethodImplOptions.NoInlining)]
    private TaskContext CreateContext() => _context = new TaskContext(this);

    internal bool Started => _started;

    /// <summary>The first step: runs the body up to its first suspension (or not at all if cancelled before).</summary>
    internal void Start()
    {
        _started = true;
        if (_cancelRequested || IsEffectivelyCancelled())
        {
            _body = null;
            FinishCancelled(_cancelMessage ?? FindCancelMessage());
            return;
        }
        StartBody();
    }

    /// <summary>Runs the body to its first suspension: a delegate body is invoked; a coroutine overrides this.</summary>
    private protected virtual void StartBody()
    {
        object start = _body!;
        _body = null; // Body reads _body as the Task: never the delegate, not even while it runs
        Task body;
        try
        {
            body = InvokeBody(start);
        }
        catch (Exception e)
        {
            // A non-async delegate threw before returning a Task: the task fails with it.
            body = Task.FromException(e);
        }
        _body = body;
    }

    private protected virtual Task InvokeBody(object start) => ((Func<Task>)start)();

    /// <summary>The Task of a delegate body; null before the first step and for a coroutine (an <c>async AioTask</c> method).</summary>
    internal Task? Body => _started && !_isCoroutine ? Unsafe.As<Task?>(_body) : null; // from the first step on, a delegate task's _body is its Task

    /// <summary>Finishes the task from its completed body Task (asyncio's rules for what counts as cancelled).</summary>
    internal void Finish()
    {
        Task body = Body!;
        if (body.IsCompletedSuccessfully)
        {
            CaptureResult(body);
            FinishSucceeded();
            return;
        }
        FinishFaulted(ExtractException(body));
    }

    /// <summary>The body returned: the task succeeds, unless a cancellation it never saw makes it cancelled (as in asyncio).</summary>
    private protected void FinishSucceeded()
    {
        if (!_cancelDelivered && IsEffectivelyCancelled())
        {
            // Cancellation was requested but the body returned without another Aio await: cancelled, as in asyncio.
            FinishCancelled(_cancelMessage ?? FindCancelMessage());
            return;
        }
        Complete(FutureState.Succeeded);
    }

    /// <summary>The body threw <paramref name="error"/>: the task fails, or is cancelled if that is what the error means.</summary>
    private protected void FinishFaulted(Exception error)
    {
        if (error is OperationCanceledException && (error is CancelledError || IsEffectivelyCancelled()))
        {
            _error = error as CancelledError;
            FinishCancelled(error.Message);
            return;
        }
        _error = error;
        Complete(FutureState.Faulted);
    }

    // ----------------------------------------------------------------- coroutines (async AioTask methods)

    /// <summary>A coroutine's next step: its state machine's MoveNext (see <see cref="AioTaskMethodBuilder"/>).</summary>
    internal virtual void MoveNextCoroutine() => throw new UnreachableException("Only a coroutine task has a state machine.");

    /// <summary>The method of a coroutine body, for descriptions; null for a delegate body.</summary>
    private protected virtual string? CoroutineName => null;

    /// <summary>A coroutine's continuation for awaiters that are not Aio's own: one Action per task, created on first use (kept in _body).</summary>
    internal Action CoroutineContinuation => (Action)(_body ??= new Action(ResumeCoroutine));

    private static readonly SendOrPostCallback s_resumeCoroutine = static s => ((AioTask)s!).MoveNextCoroutine();

    /// <summary>
    /// The coroutine's continuation for awaiters that are not Aio's own (a foreign Task, a custom awaitable;
    /// Aio waits queue a <c>CoroutineStep</c> instead): inside a step of this task, the next MoveNext runs at
    /// once; from anywhere else – another thread, a ConfigureAwait(false) completion, another task's step –
    /// it is posted as a step of this task.
    /// </summary>
    private protected void ResumeCoroutine()
    {
        if (_loop.IsRunningOnThisThread && ReferenceEquals(_loop.CurrentTaskInternal, this))
        {
            MoveNextCoroutine();
            return;
        }
        _loop.PostFromContext(s_resumeCoroutine, this, this);
    }

    /// <summary>The coroutine returned (builder's SetResult).</summary>
    internal void OnCoroutineReturned() => FinishSucceeded();

    /// <summary>The coroutine threw (builder's SetException).</summary>
    internal void OnCoroutineThrew(Exception error)
    {
        if (!Done)
        {
            FinishFaulted(error);
        }
    }

    private void FinishCancelled(string? message)
    {
        _error ??= new CancelledError(message);
        Complete(FutureState.Cancelled);
    }

    private protected virtual void CaptureResult(Task body)
    {
    }

    private static Exception ExtractException(Task body)
    {
        if (body.IsCanceled)
        {
            try
            {
                body.GetAwaiter().GetResult();
            }
            catch (Exception e)
            {
                return e;
            }
        }
        AggregateException agg = body.Exception!;
        return agg.InnerExceptions.Count == 1 ? agg.InnerExceptions[0] : agg;
    }

    private protected override void OnCompleted()
    {
        _loop.UnregisterLive(this);
        ReleaseWaitsOfFinishedTask();
        if (_extras is { } extras)
        {
            extras.RootCts?.Dispose();
            extras.RootCts = null;
        }
    }
}
