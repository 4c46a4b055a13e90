using Aio.Internal;
using Aio.LowLevel;

namespace Aio;

public static partial class Asyncio
{
    /// <summary>
    /// Waits for every task and returns their results in argument order (asyncio's <c>gather</c>). The first
    /// exception (or cancellation of a task) propagates at once; the other tasks are not cancelled and keep
    /// running. Cancelling the caller cancels every task.
    /// </summary>
    public static async Task<T[]> Gather<T>(params AioTask<T>[] tasks)
    {
        ArgumentNullException.ThrowIfNull(tasks);
        if (tasks.Length == 0)
        {
            return [];
        }
        return await new GatherFuture<T>(CommonLoop(tasks), tasks, settled: false);
    }

    /// <summary>Waits for every task (no results); see <see cref="Gather{T}(AioTask{T}[])"/>.</summary>
    public static async Task Gather(params AioTask[] tasks)
    {
        ArgumentNullException.ThrowIfNull(tasks);
        if (tasks.Length == 0)
        {
            return;
        }
        await new GatherFuture<object?>(CommonLoop(tasks), tasks, settled: false);
    }

    /// <summary>Waits for every task and returns how each ended, in argument order, never throwing for a task's failure (asyncio's <c>return_exceptions=True</c>).</summary>
    public static async Task<Outcome<T>[]> GatherSettled<T>(params AioTask<T>[] tasks)
    {
        ArgumentNullException.ThrowIfNull(tasks);
        if (tasks.Length == 0)
        {
            return [];
        }
        var gather = new GatherFuture<T>(CommonLoop(tasks), tasks, settled: true);
        await gather;
        return gather.Outcomes;
    }

    /// <summary>The loop all <paramref name="tasks"/> belong to; mixing loops is an error (a task can only be awaited on its own loop).</summary>
    private static EventLoop CommonLoop(AioTask[] tasks)
    {
        EventLoop loop = tasks[0].Loop;
        foreach (AioTask task in tasks)
        {
            ArgumentNullException.ThrowIfNull(task, nameof(tasks));
            if (!ReferenceEquals(task.Loop, loop))
            {
                throw new ArgumentException($"{task} belongs to {task.Loop}, not to {loop} like {tasks[0]}: Gather takes tasks of one loop.", nameof(tasks));
            }
        }
        return loop;
    }

    /// <summary>
    /// Waits until <paramref name="when"/> is met or <paramref name="timeout"/> seconds pass, and returns the
    /// tasks done and pending at that moment (asyncio's <c>wait</c>). Neither the timeout nor cancelling the
    /// caller cancels the tasks.
    /// </summary>
    /// <remarks>
    /// As in asyncio, a task given twice counts once, and a timeout of 0 or less returns after one loop iteration
    /// with the tasks done by then. The arguments are checked before anything is awaited.
    /// </remarks>
    /// <exception cref="ArgumentException">No tasks were given, one is null, or one belongs to another loop.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="when"/> is not a <see cref="ReturnWhen"/> value.</exception>
    public static async Task<(IReadOnlySet<AioTask> Done, IReadOnlySet<AioTask> Pending)> Wait(
        IEnumerable<AioTask> tasks, double? timeout = null, ReturnWhen when = ReturnWhen.AllCompleted)
    {
        ArgumentNullException.ThrowIfNull(tasks);
        if (timeout is double t && double.IsNaN(t))
        {
            ThrowHelper.NaNDelay(nameof(timeout));
        }
        if (when is not (ReturnWhen.AllCompleted or ReturnWhen.FirstCompleted or ReturnWhen.FirstException))
        {
            throw new ArgumentOutOfRangeException(nameof(when), when,
                "Wait's 'when' must be ReturnWhen.AllCompleted, FirstCompleted or FirstException; pass one of those.");
        }
        var set = new HashSet<AioTask>(tasks);
        if (set.Count == 0)
        {
            throw new ArgumentException("Wait needs at least one task; the set passed was empty.", nameof(tasks));
        }
        EventLoop loop = EventLoop.RunningLoopFor(nameof(Wait));
        foreach (AioTask task in set)
        {
            if (task is null)
            {
                throw new ArgumentException("Wait was given a null task; pass only tasks (remove the null).", nameof(tasks));
            }
            if (!ReferenceEquals(task.Loop, loop))
            {
                throw new ArgumentException($"Wait was given {task}, which belongs to {task.Loop}, not to the running loop {loop}; wait for a task on its own loop.", nameof(tasks));
            }
        }
        if (!WaitSatisfied(set, when))
        {
            var waiter = new WaitListener(loop, set, when);
            TimerHandle? timer = timeout is double seconds ? loop.CallLater(seconds, waiter.OnTimeout) : null;
            try
            {
                await waiter.Signal;
            }
            finally
            {
                timer?.Cancel();
                waiter.Detach();
            }
        }
        var done = new HashSet<AioTask>();
        var pending = new HashSet<AioTask>();
        foreach (AioTask task in set)
        {
            (task.Done ? done : pending).Add(task);
        }
        return (done, pending);
    }

    private static bool WaitSatisfied(HashSet<AioTask> set, ReturnWhen when) => when switch
    {
        ReturnWhen.FirstCompleted => set.Any(t => t.Done),
        ReturnWhen.FirstException => set.Any(t => t.IsFaulted) || set.All(t => t.Done),
        _ => set.All(t => t.Done),
    };

    private sealed class WaitListener : IFutureListener
    {
        private readonly HashSet<AioTask> _set;
        private readonly ReturnWhen _when;

        public WaitListener(EventLoop loop, HashSet<AioTask> set, ReturnWhen when)
        {
            _set = set;
            _when = when;
            Signal = new AioFuture<bool>(loop);
            foreach (AioTask task in set)
            {
                task.AddListener(this, 0);
            }
        }

        public AioFuture<bool> Signal { get; }

        public void OnFutureDone(AioFuture future, int arg)
        {
            if (!Signal.Done && WaitSatisfied(_set, _when))
            {
                Signal.SetResult(true);
            }
        }

        public void OnTimeout()
        {
            if (!Signal.Done)
            {
                Signal.SetResult(false);
            }
        }

        public void Detach()
        {
            foreach (AioTask task in _set)
            {
                task.RemoveListener(this);
            }
        }
    }

    /// <summary>
    /// Awaits <paramref name="task"/> for at most <paramref name="timeout"/> seconds (asyncio's <c>wait_for</c>).
    /// On timeout the task is cancelled and awaited until it has finished cancelling, then
    /// <see cref="TimeoutException"/> is thrown with the <see cref="CancelledError"/> inside. A task that
    /// refuses the cancellation and returns a value gives that value. Cancelling the caller cancels the task.
    /// </summary>
    /// <exception cref="TimeoutException">The task did not finish in time.</exception>
    public static async Task<T> WaitFor<T>(AioTask<T> task, double timeout)
    {
        ArgumentNullException.ThrowIfNull(task);
        if (double.IsNaN(timeout))
        {
            ThrowHelper.NaNDelay(nameof(timeout));
        }
        if (task.Done)
        {
            return task.Result();
        }
        if (timeout <= 0)
        {
            // asyncio: cancel at once (a task not started never runs its body), wait for it, then time out.
            task.Cancel();
            await Shield(task).ContinueWithoutThrow();
            if (task.Cancelled)
            {
                throw new TimeoutException($"{task} did not finish within {timeout} s.", new CancelledError());
            }
            return task.Result();
        }
        return await FailAfter(timeout, async () => await task);
    }

    /// <summary>Awaits <paramref name="task"/> (no result) for at most <paramref name="timeout"/> seconds; see <see cref="WaitFor{T}(AioTask{T}, double)"/>.</summary>
    public static async Task WaitFor(AioTask task, double timeout)
    {
        ArgumentNullException.ThrowIfNull(task);
        await WaitFor(AsValueTask(task), timeout);
    }

    /// <summary>Awaits <paramref name="task"/> for at most <paramref name="timeout"/>; see <see cref="WaitFor{T}(AioTask{T}, double)"/>.</summary>
    public static Task<T> WaitFor<T>(AioTask<T> task, TimeSpan timeout) => WaitFor(task, timeout.TotalSeconds);

    private static AioTask<bool> AsValueTask(AioTask task) =>
        task as AioTask<bool> ?? task.Loop.CreateTask(static async t => { await t; return true; }, task, task.Name + ".wait");

    /// <summary>
    /// Yields the tasks in the order they complete (asyncio 3.13's <c>as_completed</c> as an async stream).
    /// After <paramref name="timeout"/> seconds the next step throws <see cref="TimeoutException"/>; the
    /// remaining tasks are not cancelled.
    /// </summary>
    public static async IAsyncEnumerable<AioTask<T>> AsCompleted<T>(IEnumerable<AioTask<T>> tasks, double? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(tasks);
        var todo = new List<AioTask<T>>(new HashSet<AioTask<T>>(tasks));
        if (todo.Count == 0)
        {
            yield break;
        }
        EventLoop loop = todo[0].Loop;
        double? deadline = timeout is double t ? loop.Time() + t : null;
        var listener = new CompletionQueue<T>(loop, todo);
        try
        {
            for (int k = 0; k < todo.Count; k++)
            {
                yield return await listener.NextAsync(deadline);
            }
        }
        finally
        {
            listener.Detach();
        }
    }

    private sealed class CompletionQueue<T> : IFutureListener
    {
        private readonly EventLoop _loop;
        private readonly List<AioTask<T>> _tasks;
        private readonly Queue<AioTask<T>> _done = new();
        private AioFuture<bool>? _signal;

        public CompletionQueue(EventLoop loop, List<AioTask<T>> tasks)
        {
            _loop = loop;
            _tasks = tasks;
            foreach (AioTask<T> task in tasks)
            {
                task.AddListener(this, 0);
            }
        }

        public void OnFutureDone(AioFuture future, int arg)
        {
            _done.Enqueue((AioTask<T>)future);
            _signal?.TrySetResult(true);
        }

        public async Task<AioTask<T>> NextAsync(double? deadline)
        {
            while (_done.Count == 0)
            {
                _signal = new AioFuture<bool>(_loop);
                TimerHandle? timer = deadline is double d
                    ? _loop.CallAt(d, () => _signal.TrySetException(new TimeoutException("AsCompleted timed out before every task completed.")))
                    : null;
                try
                {
                    await _signal;
                }
                finally
                {
                    timer?.Cancel();
                    _signal = null;
                }
            }
            return _done.Dequeue();
        }

        public void Detach()
        {
            foreach (AioTask<T> task in _tasks)
            {
                task.RemoveListener(this);
            }
        }
    }

    /// <summary>
    /// Awaits <paramref name="task"/> without letting the caller's cancellation reach it (asyncio's
    /// <c>shield</c>): cancelling the caller throws <see cref="CancelledError"/> in the caller only; the task
    /// runs on. If the task itself is cancelled, so is the await.
    /// </summary>
    public static async Task<T> Shield<T>(AioTask<T> task)
    {
        ArgumentNullException.ThrowIfNull(task);
        if (task.Done)
        {
            return task.Result();
        }
        var proxy = new AioFuture<T>(task.Loop);
        task.AddListener(new ShieldListener<T>(proxy), 0);
        return await proxy;
    }

    /// <summary>Awaits <paramref name="task"/> (no result) without letting the caller's cancellation reach it.</summary>
    public static async Task Shield(AioTask task)
    {
        ArgumentNullException.ThrowIfNull(task);
        await Shield(AsValueTask(task));
    }

    private sealed class ShieldListener<T>(AioFuture<T> proxy) : IFutureListener
    {
        public void OnFutureDone(AioFuture future, int arg)
        {
            if (proxy.Done)
            {
                future.MarkRetrieved(); // the caller gave up; asyncio does not report the inner exception then
                return;
            }
            if (future.Cancelled)
            {
                proxy.Cancel();
            }
            else if (future.IsFaulted)
            {
                proxy.SetException(future.Exception()!);
            }
            else
            {
                proxy.SetResult(future is AioTask<T> t ? t.ResultUnchecked : default!);
            }
        }
    }

    /// <summary>
    /// Runs <paramref name="body"/> with a deadline <paramref name="seconds"/> from now (asyncio's <c>timeout</c>, Trio's <c>fail_after</c>; not named <c>Timeout</c>, which would hide <c>System.Threading.Timeout</c> under <c>using static Aio.Asyncio;</c>).
    /// When the deadline passes, the body's awaits are cancelled and, once it has unwound,
    /// <see cref="TimeoutException"/> is thrown with the <see cref="CancelledError"/> inside. A cancellation
    /// from outside passes through as <see cref="CancelledError"/>; of nested timeouts, only the one whose
    /// deadline fired converts.
    /// </summary>
    /// <exception cref="TimeoutException">The deadline passed before the body finished.</exception>
    public static async Task<T> FailAfter<T>(double seconds, Func<Task<T>> body)
    {
        ArgumentNullException.ThrowIfNull(body);
        CancelScope scope = CancelScope.AfterDelay(seconds);
        (bool completed, T value) = await scope.RunScopedAsync(body, static b => b());
        if (!completed)
        {
            throw new TimeoutException($"The operation did not finish within {seconds} s.", new CancelledError(scope.CancelMessage));
        }
        return value;
    }

    /// <summary>Runs <paramref name="body"/> (no result) with a deadline; see <see cref="FailAfter{T}(double, Func{Task{T}})"/>.</summary>
    public static async Task FailAfter(double seconds, Func<Task> body)
    {
        ArgumentNullException.ThrowIfNull(body);
        await FailAfter(seconds, async () => { await body(); return true; });
    }

    /// <summary>Runs <paramref name="body"/> with a deadline <paramref name="delay"/> from now; see <see cref="FailAfter{T}(double, Func{Task{T}})"/>.</summary>
    public static Task<T> FailAfter<T>(TimeSpan delay, Func<Task<T>> body) => FailAfter(delay.TotalSeconds, body);

    /// <summary>Runs <paramref name="body"/> with a deadline <paramref name="delay"/> from now; see <see cref="FailAfter{T}(double, Func{Task{T}})"/>.</summary>
    public static Task FailAfter(TimeSpan delay, Func<Task> body) => FailAfter(delay.TotalSeconds, body);

    /// <summary>
    /// Runs <paramref name="body"/> with a deadline <paramref name="seconds"/> from now and returns whether it
    /// finished in time; when the deadline passes, the body is cancelled and this returns false, without an
    /// exception (Trio's <c>move_on_after</c>).
    /// </summary>
    public static async Task<bool> MoveOnAfter(double seconds, Func<Task> body)
    {
        ArgumentNullException.ThrowIfNull(body);
        CancelScope scope = CancelScope.AfterDelay(seconds);
        (bool completed, _) = await scope.RunScopedAsync(body, static async b => { await b(); return true; });
        return completed;
    }

    /// <summary>
    /// Awaits a foreign task (one Aio does not own: <c>HttpClient</c>, <c>Stream</c>, <c>Task.Run</c>) so
    /// that cancelling the current task interrupts the await with <see cref="CancelledError"/>. The foreign
    /// operation itself goes on unless it was given <see cref="CurrentToken"/>.
    /// </summary>
    public static async Task<T> Cancellable<T>(Task<T> task)
    {
        ArgumentNullException.ThrowIfNull(task);
        if (task.IsCompleted)
        {
            return await task;
        }
        AioTask current = CurrentTaskOrThrow(nameof(Cancellable));
        EventLoop loop = current.Loop;
        var proxy = new ForeignProxy<T>(loop);
        loop.BeginOutsideWork(OutsideWorkKind.Foreign);
        _ = task.ContinueWith(static (t, s) =>
        {
            var p = (ForeignProxy<T>)s!;
            p.Loop.TryPostItem(new ReadyItem
            {
                Kind = ReadyKind.Action,
                Callback = (Action<object?>)(static st =>
                {
                    var (proxy, done) = ((ForeignProxy<T>, Task<T>))st!;
                    proxy.StopCounting();
                    if (proxy.Done)
                    {
                        _ = done.Exception; // observed: the caller stopped waiting
                        return;
                    }
                    if (done.IsCompletedSuccessfully)
                    {
                        proxy.SetResult(done.Result);
                    }
                    else
                    {
                        try
                        {
                            done.GetAwaiter().GetResult();
                        }
                        catch (Exception e)
                        {
                            proxy.SetException(e);
                        }
                    }
                }),
                State = (p, t),
            });
        }, proxy, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        try
        {
            return await proxy;
        }
        finally
        {
            // Cancelled before the foreign task finished: the loop no longer waits for it (virtual time may jump).
            proxy.StopCounting();
        }
    }

    /// <summary>The future a <see cref="Cancellable{T}(Task{T})"/> awaits; counts once as a foreign wait of the loop until the foreign task finishes or the await is given up.</summary>
    private sealed class ForeignProxy<T>(EventLoop loop) : AioFuture<T>(loop)
    {
        private bool _counted = true;

        public void StopCounting()
        {
            if (_counted)
            {
                _counted = false;
                Loop.EndOutsideWork(OutsideWorkKind.Foreign);
            }
        }
    }

    /// <summary>Awaits a foreign task with no result so that cancelling the current task interrupts the await; see <see cref="Cancellable{T}(Task{T})"/>.</summary>
    public static async Task Cancellable(Task task)
    {
        ArgumentNullException.ThrowIfNull(task);
        await Cancellable(WithResult(task));
    }

    private static Task<bool> WithResult(Task task) =>
        task.ContinueWith(static t =>
        {
            t.GetAwaiter().GetResult();
            return true;
        }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);

    /// <summary>Awaits a task and swallows its outcome (used where only completion matters).</summary>
    private static async Task ContinueWithoutThrow<T>(this Task<T> task)
    {
        try
        {
            await task;
        }
        catch (Exception)
        {
            // Only completion matters here; the caller inspects the task itself.
        }
    }
}
