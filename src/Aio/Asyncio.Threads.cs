using Aio.Internal;
using System.Runtime.CompilerServices;

namespace Aio;

public static partial class Asyncio
{
    /// <summary>
    /// Runs <paramref name="work"/> on a thread of the running loop's default executor and returns its result
    /// (asyncio's <c>to_thread</c>). The caller's <see cref="ExecutionContext"/> (<see cref="AsyncLocal{T}"/>
    /// values) flows to the thread; <paramref name="work"/>'s exception is rethrown here.
    /// </summary>
    /// <remarks>
    /// Cancelling the calling task stops the wait at once (<see cref="CancelledError"/>) and drops the work if
    /// it has not started; a running thread is never interrupted – capture <see cref="CurrentToken"/> before the
    /// call and observe it in <paramref name="work"/> to stop early. See <see cref="EventLoop.RunInExecutor{T}(Func{T})"/>.
    /// </remarks>
    /// <exception cref="InvalidOperationException">No loop is running on this thread, or its executor is shut down.</exception>
    public static async Task<T> ToThread<T>(Func<T> work)
    {
        ArgumentNullException.ThrowIfNull(work);
        return await EventLoop.RunningLoopFor(nameof(ToThread)).RunInExecutor(work);
    }

    /// <summary>Runs <paramref name="work"/> on a thread of the running loop's default executor; see <see cref="ToThread{T}(Func{T})"/>.</summary>
    public static async Task ToThread(Action work)
    {
        ArgumentNullException.ThrowIfNull(work);
        await EventLoop.RunningLoopFor(nameof(ToThread)).RunInExecutor(work);
    }

    /// <summary>
    /// Submits <paramref name="body"/> to <paramref name="loop"/> from any thread (asyncio's
    /// <c>run_coroutine_threadsafe</c>): it runs as a task on the loop, and the returned <see cref="Task{T}"/>
    /// completes with its outcome. Cancelling <paramref name="cancellationToken"/> cancels that task on the loop
    /// (before it starts: it never runs); the returned task then ends canceled.
    /// </summary>
    /// <remarks>
    /// Any thread. On the loop's own thread, await the returned task (or just <c>await body()</c>): a blocking
    /// wait for it there (<c>Wait()</c>, <c>.Result</c>, <c>GetAwaiter().GetResult()</c>) could never end and is
    /// refused with a <see cref="TaskSchedulerException"/> whose inner <see cref="InvalidOperationException"/>
    /// explains. If the loop closes before the task is done, the returned task fails with
    /// <see cref="InvalidOperationException"/>.
    /// </remarks>
    /// <exception cref="InvalidOperationException">The loop is closed.</exception>
    public static Task<T> RunCoroutineThreadSafe<T>(Func<Task<T>> body, EventLoop loop, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(body);
        ArgumentNullException.ThrowIfNull(loop);
        var bridge = new ThreadSafeBridge<T>(loop, body, cancellationToken);
        bridge.Submit();
        return bridge.Task;
    }

    /// <summary>Submits <paramref name="body"/> (no result) to <paramref name="loop"/> from any thread; see <see cref="RunCoroutineThreadSafe{T}(Func{Task{T}}, EventLoop, CancellationToken)"/>.</summary>
    public static Task RunCoroutineThreadSafe(Func<Task> body, EventLoop loop, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(body);
        return RunCoroutineThreadSafe(async () =>
        {
            await body();
            return true;
        }, loop, cancellationToken);
    }

    /// <summary>
    /// Submits the coroutine body <paramref name="body"/> to <paramref name="loop"/> from any thread –
    /// <c>RunCoroutineThreadSafe(async () =&gt; { … }, loop)</c> binds here; see
    /// <see cref="RunCoroutineThreadSafe{T}(Func{Task{T}}, EventLoop, CancellationToken)"/>. The lambda is called on the
    /// loop's thread and is an <c>async AioTask</c> coroutine: every step of it runs on the loop, even after <c>ConfigureAwait(false)</c>.
    /// </summary>
    /// <exception cref="InvalidOperationException">The loop is closed.</exception>
    [OverloadResolutionPriority(1)]
    public static Task<T> RunCoroutineThreadSafe<T>(Func<AioTask<T>> body, EventLoop loop, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(body);
        ArgumentNullException.ThrowIfNull(loop);
        var bridge = new ThreadSafeBridge<T>(loop, body, cancellationToken);
        bridge.Submit();
        return bridge.Task;
    }

    /// <summary>Submits the coroutine body <paramref name="body"/> (no result) to <paramref name="loop"/> from any thread; see <see cref="RunCoroutineThreadSafe{T}(Func{AioTask{T}}, EventLoop, CancellationToken)"/>.</summary>
    /// <exception cref="InvalidOperationException">The loop is closed.</exception>
    [OverloadResolutionPriority(1)]
    public static Task RunCoroutineThreadSafe(Func<AioTask> body, EventLoop loop, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(body);
        ArgumentNullException.ThrowIfNull(loop);
        var bridge = new ThreadSafeBridge<bool>(loop, body, cancellationToken);
        bridge.Submit();
        return bridge.Task;
    }

    /// <summary>
    /// The two halves of <see cref="RunCoroutineThreadSafe{T}(Func{Task{T}}, EventLoop, CancellationToken)"/>: a
    /// <see cref="LoopGate{T}"/> for the caller's thread (a Task that refuses a blocking wait on the loop's own thread)
    /// and an <see cref="AioTask{T}"/> on the loop.
    /// The token's registration and the loop's close hook are the only links from other threads; both go
    /// through the loop's inbox. The body is a <c>Func&lt;Task&lt;T&gt;&gt;</c>, a <c>Func&lt;AioTask&lt;T&gt;&gt;</c>, or (T unused) a <c>Func&lt;AioTask&gt;</c>.
    /// </summary>
    private sealed class ThreadSafeBridge<T>(EventLoop loop, Delegate body, CancellationToken token)
    {
        private readonly EventLoop _loop = loop;
        private readonly Delegate _body = body;
        private readonly CancellationToken _token = token;
        private readonly LoopGate<T> _gate = LoopGate<T>.Create(loop, "The Task returned by Asyncio.RunCoroutineThreadSafe", cancellable: true);
        private AioTask? _task;                    // loop thread only
        private bool _cancelRequested;                // loop thread only: the token fired before the task existed
        private CancellationTokenRegistration _registration;

        public Task<T> Task => _gate.Task;

        public void Submit()
        {
            _loop.OnClosed += OnLoopClosed;
            try
            {
                _loop.PostItem(new ReadyItem { Kind = ReadyKind.Action, Callback = s_start, State = this });
            }
            catch (InvalidOperationException)
            {
                _loop.OnClosed -= OnLoopClosed;
                throw;
            }
            if (_token.CanBeCanceled)
            {
                _registration = _token.UnsafeRegister(static s =>
                {
                    var b = (ThreadSafeBridge<T>)s!;
                    b.PostCancel();
                }, this);
            }
        }

        private void PostCancel() =>
            _loop.TryPostItem(new ReadyItem { Kind = ReadyKind.Action, Callback = s_cancel, State = this });

        private static readonly Action<object?> s_start = static s =>
        {
            var b = (ThreadSafeBridge<T>)s!;
            AioTask task = b._task = b._body switch
            {
                Func<Task<T>> f => b._loop.CreateTask(f),
                Func<AioTask<T>> f => b._loop.CreateTask(f),
                _ => b._loop.CreateTask((Func<AioTask>)b._body),
            };
            if (b._cancelRequested || b._token.IsCancellationRequested)
            {
                task.Cancel("Cancelled through the CancellationToken of RunCoroutineThreadSafe.");
            }
            task.AddDoneCallback(f => b.Complete((AioTask)f));
        };

        private static readonly Action<object?> s_cancel = static s =>
        {
            var b = (ThreadSafeBridge<T>)s!;
            if (b._task is null)
            {
                b._cancelRequested = true;
            }
            else
            {
                b._task.Cancel("Cancelled through the CancellationToken of RunCoroutineThreadSafe.");
            }
        };

        private void Complete(AioTask task)
        {
            _loop.OnClosed -= OnLoopClosed;
            _registration.Dispose();
            if (task.Cancelled)
            {
                task.MarkRetrieved();
                _gate.SetCanceled();
                return;
            }
            try
            {
                if (task is AioTask<T> withResult)
                {
                    _gate.SetResult(withResult.Result());
                }
                else
                {
                    task.Result();
                    _gate.SetResult(default!);
                }
            }
            catch (Exception e)
            {
                _gate.SetException(e);
            }
        }

        private void OnLoopClosed()
        {
            _registration.Dispose();
            _gate.SetException(new InvalidOperationException(
                $"{_loop} closed before the coroutine submitted with RunCoroutineThreadSafe finished; keep the loop running until the returned task completes."));
        }
    }
}
