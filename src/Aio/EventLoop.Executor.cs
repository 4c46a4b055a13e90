using Aio.Internal;
using Aio.LowLevel;
using Microsoft.Extensions.Logging.Abstractions;

namespace Aio;

public sealed partial class EventLoop
{
    private LoopExecutor? _executor;                  // created on first RunInExecutor; null until then
    private bool _executorShutDown;                   // ShutdownDefaultExecutorAsync was called (no executor will be created)
    private int _defaultExecutorMaxThreads = Math.Min(32, Environment.ProcessorCount + 4);
    private double _executorShutdownTimeout = 300;

    /// <summary>
    /// The most threads the default executor runs at once (<see cref="RunInExecutor{T}(Func{T})"/>,
    /// <see cref="Asyncio.ToThread{T}(Func{T})"/>). Defaults to min(32, processors + 4), as asyncio's
    /// default <c>ThreadPoolExecutor</c>. More work waits in a FIFO queue. A change applies to threads started later.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is less than 1.</exception>
    public int DefaultExecutorMaxThreads
    {
        get => _defaultExecutorMaxThreads;
        set
        {
            CheckThread(nameof(DefaultExecutorMaxThreads));
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1);
            _defaultExecutorMaxThreads = value;
            if (_executor is not null)
            {
                _executor.MaxThreads = value;
            }
        }
    }

    /// <summary>
    /// How long, in seconds, <see cref="Runner"/> (and <see cref="Asyncio.Run(Func{Task}, bool?)"/>) waits at shutdown
    /// for executor threads still running. Default 300, as asyncio. A thread still running after it is
    /// reported to the exception handler and abandoned: executor threads are background threads, so it does
    /// not keep the process alive.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is negative or NaN.</exception>
    public double ExecutorShutdownTimeout
    {
        get => _executorShutdownTimeout;
        set => _executorShutdownTimeout = value >= 0 ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "Pass 0 or more seconds.");
    }

    /// <summary>
    /// Runs <paramref name="work"/> on a thread of the loop's default executor (a bounded pool of dedicated
    /// background threads, see <see cref="DefaultExecutorMaxThreads"/>) and returns a future of its result
    /// (asyncio's <c>run_in_executor(None, func)</c>). The caller's <see cref="ExecutionContext"/>
    /// (<see cref="AsyncLocal{T}"/> values) flows to the thread.
    /// </summary>
    /// <remarks>
    /// Cancelling the future (or the task awaiting it) removes the work if no thread has started it yet;
    /// work already running is never interrupted – pass it <see cref="Asyncio.CurrentToken"/> if it can stop early.
    /// Its exception, if any, is the future's exception. Loop thread only.
    /// </remarks>
    /// <exception cref="InvalidOperationException">The default executor is shut down, or the loop is closed.</exception>
    public AioFuture<T> RunInExecutor<T>(Func<T> work)
    {
        ArgumentNullException.ThrowIfNull(work);
        CheckThread(nameof(RunInExecutor));
        CheckClosed(nameof(RunInExecutor));
        LoopExecutor executor = GetOrCreateExecutor();
        var future = new ExecutorFuture<T>(this);
        var item = new ExecutorWorkItem<T>(this, future, work);
        future.Item = item;
        BeginOutsideWork(OutsideWorkKind.Reporting);
        if (!executor.TrySubmit(item))
        {
            EndOutsideWork(OutsideWorkKind.Reporting);
            ThrowHelper.ExecutorShutDown(this);
        }
        return future;
    }

    /// <summary>Runs <paramref name="work"/> on the default executor; see <see cref="RunInExecutor{T}(Func{T})"/>. The future's value is always true.</summary>
    public AioFuture<bool> RunInExecutor(Action work)
    {
        ArgumentNullException.ThrowIfNull(work);
        return RunInExecutor(() =>
        {
            work();
            return true;
        });
    }

    /// <summary>
    /// Shuts the default executor down (asyncio's <c>shutdown_default_executor</c>): no new work is accepted,
    /// queued work still runs, and the returned task completes when every executor thread has finished – or
    /// after <paramref name="timeout"/> seconds, when the threads still running are reported to the exception
    /// handler (and the logger) and abandoned; later calls then return at once. Idempotent. The runner calls it at shutdown with
    /// <see cref="ExecutorShutdownTimeout"/>. Await it on the loop.
    /// </summary>
    /// <param name="timeout">Seconds to wait; null waits without limit.</param>
    public async Task ShutdownDefaultExecutorAsync(double? timeout = null)
    {
        CheckThread(nameof(ShutdownDefaultExecutorAsync));
        if (timeout is double t && !(t >= 0))
        {
            throw new ArgumentOutOfRangeException(nameof(timeout), timeout, "Pass 0 or more seconds, or null to wait without limit.");
        }
        _executorShutDown = true;
        LoopExecutor? executor = _executor;
        if (executor is null)
        {
            return;
        }
        Task exited = executor.Shutdown();
        if (exited.IsCompleted)
        {
            return;
        }
        if (timeout is null)
        {
            await exited;
            return;
        }
        using var delayCancel = new CancellationTokenSource();
        Task first = await Task.WhenAny(exited, Task.Delay(TimeSpan.FromSeconds(timeout.Value), delayCancel.Token));
        if (ReferenceEquals(first, exited))
        {
            await delayCancel.CancelAsync();
            return;
        }
        // Abandon the executor: a later call (the runner's, after the program's own) returns at once.
        _executor = null;
        List<string> running = executor.DescribeRunning();
        string items = running.Count == 0 ? "(queued work only)" : string.Join("; ", running);
        if (Logger is not NullLogger)
        {
            FacilityLog.ExecutorShutdownTimedOut(Logger, timeout.Value, running.Count, items);
        }
        CallExceptionHandler(new ExceptionContext
        {
            Message = $"The default executor did not finish within {timeout.Value} seconds; abandoning {running.Count} thread(s) still running: {items}. " +
                "Executor work that can block for long should observe a CancellationToken (Asyncio.CurrentToken).",
            Source = this,
        });
    }

    private LoopExecutor GetOrCreateExecutor()
    {
        if (_executor is not null)
        {
            return _executor;
        }
        if (_executorShutDown)
        {
            ThrowHelper.ExecutorShutDown(this);
        }
        _executor = new LoopExecutor(_defaultExecutorMaxThreads);
        AddShutdownHook(() => ShutdownDefaultExecutorAsync(_executorShutdownTimeout));
        OnClosed += () => _executor?.Shutdown();
        return _executor;
    }

    /// <summary>The default executor's live threads (tests).</summary>
    internal int ExecutorThreadCount => _executor?.ThreadCount ?? 0;
}
