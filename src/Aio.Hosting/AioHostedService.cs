// AioHostedService: an Aio event loop as a Generic Host service.
//
// Design note. The loop gets a dedicated background thread (a loop blocks its thread; the host's own threads are
// the thread pool's). StartAsync returns once the main coroutine has started on that thread. The host owns the
// process signals (its console lifetime turns SIGINT/SIGTERM into StopApplication), so the runner installs none.
// Shutdown in two stages:
//   1. graceful – StopAsync cancels the main task: its CancelledError runs its finally blocks and shielded
//      cleanup, children of its TaskGroups are cancelled, subprocesses it started get SIGTERM;
//   2. hard – when the host's shutdown timeout fires (StopAsync's token) and the main task is still not done,
//      every task of the loop is cancelled; after HardStopGrace the loop is stopped and, if its thread still has
//      not ended (a task stuck in a shielded scope, a callback blocking the thread), the thread is abandoned.
// Then the runner closes the loop: leftovers cancelled, executor shut down, loop closed.
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Aio.Hosting;

/// <summary>
/// Runs a main coroutine on its own Aio event loop, on a dedicated thread, for the lifetime of a .NET Generic Host.
/// Register it with <see cref="AioHostingExtensions.AddAioLoop(Microsoft.Extensions.DependencyInjection.IServiceCollection, Func{IServiceProvider, AioTask}, Action{AioLoopOptions}?)"/>.
/// </summary>
/// <remarks>
/// <see cref="Loop"/> is the door for the rest of the application: from other threads (ASP.NET handlers, say) use
/// <see cref="Asyncio.RunCoroutineThreadSafe{T}(Func{Task{T}}, EventLoop, CancellationToken)"/> or
/// <see cref="EventLoop.CallSoonThreadSafe(Action)"/> on it.
/// </remarks>
public sealed class AioHostedService : IHostedService, IDisposable
{
    private readonly Func<IServiceProvider, Task>? _main;            // a main that is an ordinary async method
    private readonly Func<IServiceProvider, AioTask>? _coroutineMain; // a main that is a coroutine (an async lambda binds here)
    private readonly IServiceProvider _services;
    private readonly AioLoopOptions _options;
    private readonly ILogger _logger;
    private readonly IHostApplicationLifetime? _lifetime;
    private readonly TaskCompletionSource _started = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Thread? _thread;
    private EventLoop? _loop;
    private AioTask? _mainTask;          // loop thread only
    private volatile bool _stopping;     // StopAsync was called

    /// <summary>Creates the service (the container does this; see <see cref="AioHostingExtensions.AddAioLoop(Microsoft.Extensions.DependencyInjection.IServiceCollection, Func{IServiceProvider, AioTask}, Action{AioLoopOptions}?)"/>).</summary>
    /// <param name="main">The main coroutine; it gets the application's services.</param>
    /// <param name="services">The application's services.</param>
    /// <param name="options">How to run the loop.</param>
    /// <param name="loggerFactory">Gives the loop its logger (category "Aio"); null logs nothing.</param>
    /// <param name="lifetime">Stopped when the main coroutine ends on its own; null when there is no host.</param>
    public AioHostedService(Func<IServiceProvider, Task> main, IServiceProvider services, AioLoopOptions options,
        ILoggerFactory? loggerFactory = null, IHostApplicationLifetime? lifetime = null)
        : this(services, options, loggerFactory, lifetime)
    {
        ArgumentNullException.ThrowIfNull(main);
        _main = main;
    }

    /// <summary>
    /// Creates the service with a coroutine main (the container does this; see <see cref="AioHostingExtensions.AddAioLoop(Microsoft.Extensions.DependencyInjection.IServiceCollection, Func{IServiceProvider, AioTask}, Action{AioLoopOptions}?)"/>):
    /// the task <paramref name="main"/> returns is the main task, and every step of it runs on the loop.
    /// </summary>
    /// <param name="main">Creates the main coroutine; it gets the application's services.</param>
    /// <param name="services">The application's services.</param>
    /// <param name="options">How to run the loop.</param>
    /// <param name="loggerFactory">Gives the loop its logger (category "Aio"); null logs nothing.</param>
    /// <param name="lifetime">Stopped when the main coroutine ends on its own; null when there is no host.</param>
    [System.Runtime.CompilerServices.OverloadResolutionPriority(1)]
    public AioHostedService(Func<IServiceProvider, AioTask> main, IServiceProvider services, AioLoopOptions options,
        ILoggerFactory? loggerFactory = null, IHostApplicationLifetime? lifetime = null)
        : this(services, options, loggerFactory, lifetime)
    {
        ArgumentNullException.ThrowIfNull(main);
        _coroutineMain = main;
    }

    private AioHostedService(IServiceProvider services, AioLoopOptions options, ILoggerFactory? loggerFactory, IHostApplicationLifetime? lifetime)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(options);
        _services = services;
        _options = options;
        _logger = loggerFactory?.CreateLogger("Aio") ?? NullLogger.Instance;
        _lifetime = lifetime;
    }

    /// <summary>The service's loop, once <see cref="StartAsync"/> has returned; null before.</summary>
    public EventLoop? Loop => _loop;

    /// <summary>A task that completes when the loop's thread has finished (the loop is closed then).</summary>
    public Task Completion => _exited.Task;

    /// <summary>Starts the loop's thread and returns once the main coroutine has started on it.</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (_thread is not null)
        {
            throw new InvalidOperationException("AioHostedService was started already; a host starts each service once.");
        }
        _thread = new Thread(RunLoop) { IsBackground = true, Name = _options.ThreadName };
        _thread.Start();
        try
        {
            await _started.Task.WaitAsync(cancellationToken).ConfigureAwait(false);   // off-loop: the host's thread, not the loop's
        }
        catch (OperationCanceledException) when (_started.Task.IsCompleted)
        {
            // The loop had started (or already ended) and the host's token was cancelled before WaitAsync saw it: the
            // start's completion is posted to the pool, and a main that fails at once stops the application, which
            // cancels the token the host passed here. The start did happen; report what it ended with.
            await _started.Task.ConfigureAwait(false);   // off-loop: the host's thread
        }
    }

    private void RunLoop()
    {
        bool failed = false;
        try
        {
            using var runner = new Runner(_options.Debug) { HandleSignals = false };
            EventLoop loop = runner.GetLoop();
            loop.Logger = _logger;
            _options.ConfigureLoop?.Invoke(loop);
            _loop = loop;
            try
            {
                if (_coroutineMain is { } coroutine)
                {
                    runner.Run(() =>
                    {
                        AioTask main = coroutine(_services); // created on the loop before it runs: the main task itself
                        _mainTask = main;
                        loop.CallSoon(() => _started.TrySetResult()); // after the main task's first step
                        return main;
                    });
                }
                else
                {
                    runner.Run(async () =>
                    {
                        _mainTask = loop.CurrentTask;
                        _started.TrySetResult();
                        await _main!(_services);
                    });
                }
            }
            catch (OperationCanceledException) when (_stopping)
            {
                // The graceful stop: the main task was cancelled by StopAsync.
            }
            catch (InvalidOperationException) when (_stopping)
            {
                // The hard stop: the loop was stopped before the main task completed.
            }
        }
        catch (Exception e)
        {
            failed = true;
            HostingLog.MainFailed(_logger, e);
            _started.TrySetException(e);
        }
        finally
        {
            _started.TrySetResult();
            _exited.TrySetResult();
        }
        if (!_stopping && (failed || _options.StopApplicationWhenMainEnds))
        {
            _lifetime?.StopApplication();
        }
    }

    /// <summary>
    /// Cancels the main task and waits for the loop to finish; when <paramref name="cancellationToken"/> fires (the
    /// host's shutdown timeout), cancels every task, then stops the loop (see the class remarks).
    /// </summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        EventLoop? loop = _loop;
        if (_thread is null || loop is null)
        {
            return;
        }
        _stopping = true;
        if (_exited.Task.IsCompleted)
        {
            return;
        }
        string loopName = loop.ToString();
        if (_logger.IsEnabled(LogLevel.Information))
        {
            HostingLog.Stopping(_logger, loopName);
        }
        Post(loop, () => _mainTask?.Cancel("The host is stopping."));
        if (await WaitExitedAsync(Timeout.InfiniteTimeSpan, cancellationToken).ConfigureAwait(false))   // off-loop: the host's thread
        {
            return;
        }
        if (_logger.IsEnabled(LogLevel.Warning))
        {
            HostingLog.HardCancel(_logger, loopName);
        }
        Post(loop, () =>
        {
            foreach (AioTask task in loop.AllTasks())
            {
                task.Cancel("The host's shutdown timeout has passed.");
            }
        });
        if (await WaitExitedAsync(_options.HardStopGrace, CancellationToken.None).ConfigureAwait(false))   // off-loop: the host's thread
        {
            return;
        }
        Post(loop, loop.Stop);
        if (!await WaitExitedAsync(_options.HardStopGrace, CancellationToken.None).ConfigureAwait(false))   // off-loop: the host's thread
        {
            HostingLog.Abandoned(_logger, _options.HardStopGrace);
        }
    }

    private async Task<bool> WaitExitedAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        try
        {
            await _exited.Task.WaitAsync(timeout, cancellationToken).ConfigureAwait(false);   // off-loop: the host's thread
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private static void Post(EventLoop loop, Action action)
    {
        try
        {
            loop.CallSoonThreadSafe(action);
        }
        catch (InvalidOperationException)
        {
            // The loop closed in the meantime: nothing left to stop.
        }
    }

    /// <summary>Nothing to release: the loop closes when its thread ends.</summary>
    public void Dispose()
    {
    }
}
