// Runner: asyncio's Runner and the body of Asyncio.Run.
//
// Design note. One loop per runner, created on first use. Run creates the main task, installs SIGINT
// and SIGTERM handlers (loop.AddSignalHandler, unless the program installed its own) for the duration,
// and runs the loop until main is done.
// The first signal cancels main (on the loop thread); once main has ended cancelled, Run
// throws KeyboardInterrupt naming the signal. A second signal is not intercepted: the runtime's default
// action ends the process at once. A KeyboardInterrupt the program does not catch would end in the
// runtime's crash report and SIGABRT (exit 134); so before throwing the first one, the runner hooks
// AppDomain.UnhandledException, which then ends the process the way Python does: one line on standard
// error and exit code 128 + signal (130, 143). A program that catches it never reaches the hook.
// Close cancels every task still pending, runs the loop until they are done, reports their errors, and
// closes the loop.
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Aio.Internal;

namespace Aio;

/// <summary>
/// Runs coroutines on one event loop that it creates and closes (asyncio's <c>Runner</c>). Use it to make
/// several top-level calls on the same loop; <see cref="Asyncio.Run(Func{Task}, bool?)"/> is one call
/// with a fresh runner.
/// </summary>
/// <remarks>Use a runner from one thread.</remarks>
public sealed class Runner : IDisposable
{
    private readonly bool? _debug;
    private readonly Func<EventLoop>? _loopFactory;
    private EventLoop? _loop;
    private bool _closed;
    private AioTask? _main;            // the main task of the Run in progress
    private int _interrupts;           // signals received during the Run in progress
    private PosixSignal _signal;       // the first of them (Interrupt counts as SIGINT); written before the main task is cancelled
    private static int s_uncaughtHooked; // 1 once OnUncaughtInterrupt is on AppDomain.UnhandledException

    /// <summary>Creates a runner.</summary>
    /// <param name="debug">Debug mode for the loop; null follows <c>AIO_DEBUG</c>.</param>
    /// <param name="loopFactory">Creates the loop (for a <see cref="VirtualClock"/>, say); null makes a default loop.</param>
    public Runner(bool? debug = null, Func<EventLoop>? loopFactory = null)
    {
        _debug = debug;
        _loopFactory = loopFactory;
    }

    /// <summary>Whether Run installs SIGINT/SIGTERM handlers that cancel the main task. Default true.</summary>
    public bool HandleSignals { get; init; } = true;

    /// <summary>The runner's loop, created on first use.</summary>
    /// <exception cref="InvalidOperationException">The runner is closed.</exception>
    public EventLoop GetLoop()
    {
        if (_closed)
        {
            throw new InvalidOperationException("Runner is closed; create a new Runner.");
        }
        if (_loop is null)
        {
            _loop = _loopFactory?.Invoke() ?? new EventLoop();
            if (_debug is bool d)
            {
                _loop.Debug = d;
            }
        }
        return _loop;
    }

    /// <summary>Runs <paramref name="main"/> on the runner's loop until it completes and returns its result.</summary>
    /// <exception cref="KeyboardInterrupt">SIGINT or SIGTERM cancelled the main task.</exception>
    /// <exception cref="InvalidOperationException">The runner is closed, or a loop is already running on this thread.</exception>
    public T Run<T>(Func<Task<T>> main)
    {
        ArgumentNullException.ThrowIfNull(main);
        AioTask<T> task = RunMain(loop => loop.CreateTask(main, "main"));
        return task.Result();
    }

    /// <summary>Runs <paramref name="main"/> on the runner's loop until it completes; rethrows its exception.</summary>
    /// <exception cref="KeyboardInterrupt">SIGINT or SIGTERM cancelled the main task.</exception>
    public void Run(Func<Task> main)
    {
        ArgumentNullException.ThrowIfNull(main);
        AioTask task = RunMain(loop => loop.CreateTask(main, "main"));
        task.Result();
    }

    /// <summary>
    /// Runs the coroutine <paramref name="main"/> – <c>runner.Run(async () =&gt; { … })</c> binds here – on the runner's
    /// loop until it completes and returns its result. Every step of the lambda runs on the loop, even after <c>ConfigureAwait(false)</c>.
    /// </summary>
    /// <exception cref="KeyboardInterrupt">SIGINT or SIGTERM cancelled the main task.</exception>
    /// <exception cref="InvalidOperationException">The runner is closed, or a loop is already running on this thread.</exception>
    [OverloadResolutionPriority(1)]
    public T Run<T>(Func<AioTask<T>> main)
    {
        ArgumentNullException.ThrowIfNull(main);
        AioTask<T> task = RunMain(loop => loop.CreateTask(main, "main"));
        return task.Result();
    }

    /// <summary>Runs the coroutine <paramref name="main"/> on the runner's loop until it completes; rethrows its exception. See <see cref="Run{T}(Func{AioTask{T}})"/>.</summary>
    /// <exception cref="KeyboardInterrupt">SIGINT or SIGTERM cancelled the main task.</exception>
    [OverloadResolutionPriority(1)]
    public void Run(Func<AioTask> main)
    {
        ArgumentNullException.ThrowIfNull(main);
        AioTask task = RunMain(loop => loop.CreateTask(main, "main"));
        task.Result();
    }

    private TTask RunMain<TTask>(Func<EventLoop, TTask> create) where TTask : AioTask
    {
        if (EventLoop.TryGetRunningLoop() is not null)
        {
            throw new InvalidOperationException("Runner.Run cannot be called from a running event loop; await the coroutine instead.");
        }
        EventLoop loop = GetLoop();
        TTask task = create(loop);
        _main = task;
        _interrupts = 0;
        _signal = PosixSignal.SIGINT;
        bool ownSigint = false, ownSigterm = false;
        if (HandleSignals)
        {
            ownSigint = TryInstall(loop, PosixSignal.SIGINT);
            ownSigterm = TryInstall(loop, PosixSignal.SIGTERM);
        }
        try
        {
            loop.RunUntilComplete(task);
        }
        finally
        {
            if (ownSigint)
            {
                loop.RemoveSignalHandler(PosixSignal.SIGINT);
            }
            if (ownSigterm)
            {
                loop.RemoveSignalHandler(PosixSignal.SIGTERM);
            }
            _main = null;
        }
        if (task.Cancelled && Volatile.Read(ref _interrupts) > 0)
        {
            task.MarkRetrieved();
            HookUncaughtInterrupt();
            throw new KeyboardInterrupt(_signal);
        }
        return task;
    }

    /// <summary>From now on, a <see cref="KeyboardInterrupt"/> nobody catches ends the process quietly (<see cref="OnUncaughtInterrupt"/>).</summary>
    private static void HookUncaughtInterrupt()
    {
        if (Interlocked.Exchange(ref s_uncaughtHooked, 1) == 0)
        {
            AppDomain.CurrentDomain.UnhandledException += OnUncaughtInterrupt;
        }
    }

    /// <summary>
    /// A <see cref="KeyboardInterrupt"/> reached the top of a thread: print one line and exit with 130 (SIGINT) or
    /// 143 (SIGTERM), as Python does, instead of the runtime's crash report and SIGABRT. Other exceptions pass.
    /// </summary>
    private static void OnUncaughtInterrupt(object? sender, UnhandledExceptionEventArgs e)
    {
        if (e.ExceptionObject is not KeyboardInterrupt interrupt)
        {
            return;
        }
        try
        {
            Console.Error.WriteLine($"KeyboardInterrupt: {interrupt.Message}");
            Console.Error.Flush();
        }
        catch (IOException)
        {
            // Standard error is gone (a closed pipe): exit all the same.
        }
        Environment.Exit(interrupt.ProcessExitCode);
    }

    /// <summary>Installs the runner's handler for <paramref name="signal"/> unless the program installed its own on the loop.</summary>
    private bool TryInstall(EventLoop loop, PosixSignal signal)
    {
        if (loop.HasSignalHandler(signal))
        {
            return false; // the program handles this signal itself (loop.AddSignalHandler)
        }
        try
        {
            loop.AddSignalHandlerCore(signal, () => s_interruptMain(this), () => OnSignalThread(signal));
            return true;
        }
        catch (PlatformNotSupportedException)
        {
            return false; // signals are a convenience; a platform without them runs without
        }
    }

    /// <summary>Runs on the runtime's signal thread: the first signal is the loop's (and recorded); a second one takes the default action (the process ends at once).</summary>
    private bool OnSignalThread(PosixSignal signal)
    {
        if (Interlocked.Increment(ref _interrupts) != 1)
        {
            return false;
        }
        _signal = signal; // before the handler posts the cancellation: Run reads it after the loop has run it
        return true;
    }

    /// <summary>
    /// Acts as if Ctrl+C was pressed: cancels the main task of the Run in progress, which then throws
    /// <see cref="KeyboardInterrupt"/>. Any thread. Does nothing when no Run is in progress.
    /// </summary>
    public void Interrupt()
    {
        EventLoop? loop = _loop;
        if (loop is null || loop.IsClosed)
        {
            return;
        }
        Interlocked.CompareExchange(ref _interrupts, 1, 0); // counts as SIGINT (_signal's value for the Run)
        loop.TryPostItem(new ReadyItem
        {
            Kind = ReadyKind.Action,
            Callback = s_interruptMain,
            State = this,
        });
    }

    private static readonly Action<object?> s_interruptMain = static s =>
    {
        var runner = (Runner)s!;
        if (runner._main is { Done: false } main)
        {
            main.Cancel("Interrupted by SIGINT/SIGTERM.");
        }
    };

    /// <summary>
    /// Cancels every task still pending and waits for them, reports their errors to the loop's exception
    /// handler, and closes the loop. Idempotent.
    /// </summary>
    public void Close()
    {
        if (_closed)
        {
            return;
        }
        _closed = true;
        EventLoop? loop = _loop;
        if (loop is null || loop.IsClosed)
        {
            return;
        }
        try
        {
            CancelAllTasks(loop);
            loop.RunShutdownHooks();
        }
        finally
        {
            loop.Close();
        }
    }

    /// <summary>Same as <see cref="Close"/>.</summary>
    public void Dispose() => Close();

    internal static void CancelAllTasks(EventLoop loop)
    {
        IReadOnlyCollection<AioTask> tasks = loop.AllTasks();
        if (tasks.Count == 0)
        {
            return;
        }
        foreach (AioTask task in tasks)
        {
            task.Cancel("Cancelled at shutdown: the main task finished.");
        }
        var all = tasks.ToArray();
        var gather = new GatherFuture<object?>(loop, all, settled: true);
        loop.RunUntilComplete(gather);
        foreach (AioTask task in all)
        {
            if (task.Cancelled)
            {
                continue;
            }
            if (task.IsFaulted)
            {
                loop.CallExceptionHandler(new ExceptionContext
                {
                    Message = "unhandled exception during Asyncio.Run() shutdown",
                    Exception = task.Exception(),
                    Future = task,
                });
            }
        }
    }
}
