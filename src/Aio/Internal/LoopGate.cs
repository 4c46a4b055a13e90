// LoopGate: the Task the loop hands out for work only the loop can complete (AioFuture.AsTask,
// RunCoroutineThreadSafe), made to refuse a blocking wait on the loop's own thread.
//
// Design note. A blocking wait on the loop's thread for such a task (task.Wait(), task.Result,
// task.GetAwaiter().GetResult(), Task.WaitAll) can never end: the loop that would complete the task cannot run
// while its thread waits. The TPL offers one hook into a blocking wait on a particular task: before an untimed,
// uncancellable wait blocks, Task.Wait asks the task's scheduler to run it inline (TryExecuteTaskInline). So
// the task handed out is not a TaskCompletionSource promise but a real Task<T> whose scheduler is this gate: it
// is queued to the gate at once, and the gate runs it – a delegate that only replays the outcome – on the loop
// thread when the outcome is known. Asked to run it inline before then, on the thread running the loop, the gate
// throws; the TPL wraps that in a TaskSchedulerException, which Task.Wait throws. On any other thread it
// declines, and the wait blocks as usual until the loop opens the gate. A wait with a timeout or a token is not
// offered to the scheduler: the loop's watchdog reports that one (it ends, at worst, when its timeout does).
// The task runs its continuations asynchronously, as the TaskCompletionSource it replaces did.
using System.Runtime.ExceptionServices;

namespace Aio.Internal;

internal sealed class LoopGate<T> : TaskScheduler
{
    private readonly EventLoop _loop;
    private readonly object _what;                      // the AioFuture behind the task, or a description
    private readonly CancellationTokenSource? _cancel;  // only when the outcome may be "canceled"
    private T _result = default!;
    private ExceptionDispatchInfo? _error;
    private bool _canceled;
    private volatile bool _open;                        // the outcome is known (set on the loop thread)

    private LoopGate(EventLoop loop, object what, bool cancellable)
    {
        _loop = loop;
        _what = what;
        _cancel = cancellable ? new CancellationTokenSource() : null;
        Task = new Task<T>(Outcome, _cancel?.Token ?? default, TaskCreationOptions.RunContinuationsAsynchronously);
        Task.Start(this);
    }

    /// <summary>The task handed out; it completes when the loop calls <see cref="SetResult"/>, <see cref="SetException"/> or <see cref="SetCanceled"/>.</summary>
    public Task<T> Task { get; }

    /// <summary>A gate whose task may also end canceled (<paramref name="what"/> describes it in the error).</summary>
    public static LoopGate<T> Create(EventLoop loop, string what, bool cancellable) => new(loop, what, cancellable);

    /// <summary>The task for <paramref name="future"/>.AsTask(): completes with what <paramref name="read"/> returns or throws once the future is done. Loop thread.</summary>
    public static Task<T> ForFuture(AioFuture future, Func<AioFuture, T> read)
    {
        var gate = new LoopGate<T>(future.Loop, future, cancellable: false);
        future.AddDoneCallback(f =>
        {
            try
            {
                gate.SetResult(read(f));
            }
            catch (Exception e)
            {
                gate.SetException(e);
            }
        });
        return gate.Task;
    }

    public void SetResult(T value)
    {
        _result = value;
        Open();
    }

    public void SetException(Exception error)
    {
        _error = ExceptionDispatchInfo.Capture(error);
        Open();
    }

    public void SetCanceled()
    {
        _canceled = true;
        Open();
    }

    private void Open()
    {
        if (_open)
        {
            return; // the first outcome wins, as TrySet* did
        }
        _open = true;
        TryExecuteTask(Task);
    }

    /// <summary>The task's body: replays the outcome (its exception faults the task; a cancellation of its own token cancels it).</summary>
    private T Outcome()
    {
        _error?.Throw();
        if (_canceled)
        {
            _cancel!.Cancel();
            throw new TaskCanceledException("A task was canceled.", null, _cancel.Token);
        }
        return _result;
    }

    protected override void QueueTask(Task task)
    {
        // Nothing to do: the gate runs the task when the outcome is known (Open).
    }

    protected override bool TryExecuteTaskInline(Task task, bool taskWasPreviouslyQueued)
    {
        if (!_open && _loop.IsRunningOnThisThread)
        {
            ThrowHelper.BlockingWaitOnLoopThread(_loop, _what is AioFuture f ? $"The Task from {f}.AsTask()" : (string)_what);
        }
        return false; // elsewhere: block until the loop opens the gate
    }

    protected override IEnumerable<Task>? GetScheduledTasks() => null;

    public override int MaximumConcurrencyLevel => 1;
}
