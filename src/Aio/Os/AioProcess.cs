// AioProcess: a child process bound to the scope that started it.
//
// Design note. The child is started with posix_spawn (Internal/ProcessSpawner.cs), its pipes are stream
// transports on the loop's epoll reactor (Internal/PipeTransport.cs) under the same StreamReaderProtocol as a
// socket, so Stdout/Stderr are AioStreamReaders and Stdin is an AioStreamWriter; its exit is observed with a
// pidfd registered on the same poller (Internal/ChildWatcher.cs); everything happens on the loop thread.
//
// Scope binding (Trio's rule for child processes, on asyncio's API). At creation the process registers on the
// token of the innermost cancel scope of the creating task. When that scope is cancelled while the child runs,
// the child gets SIGTERM and, TerminateGracePeriod seconds later if it is still there, SIGKILL. A WaitAsync
// interrupted by that same cancellation does not return early: it waits, shielded, until the child is gone
// (SIGKILL guarantees it), then throws CancelledError – so leaving the scope means the child is dead and reaped.
// A WaitAsync cancelled for another reason (an inner Timeout, another task) just stops waiting, as asyncio's
// wait does; the child goes on. If the loop closes with the child still running, the child is killed and reaped
// then. The token's callbacks run on the loop thread: the loop cancels scope tokens from its ready ring.
using System.Diagnostics;
using System.Runtime.Versioning;
using Aio.LowLevel;
using Aio.Net.Internal;
using Aio.Os.Internal;
using Aio.Os.Interop;
using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;

using Aio.Net;
using Aio.Streams.Internal;

namespace Aio.Os;

/// <summary>
/// A running (or finished) child process with optional pipes (asyncio's <c>asyncio.subprocess.Process</c>).
/// Created by <see cref="Asyncio.CreateSubprocessExecAsync"/> or <see cref="Asyncio.CreateSubprocessShellAsync"/>.
/// </summary>
/// <remarks>
/// <para>The child is bound to the cancel scope (or task) that started it: when that scope is cancelled while the
/// child runs, the child gets SIGTERM, then SIGKILL after <see cref="ProcessOptions.TerminateGracePeriod"/>; it is
/// always reaped.</para>
/// <para>Belongs to its loop: use it on the loop's thread only.</para>
/// </remarks>
[DebuggerDisplay("{ToString(),nq}")]
public sealed class AioProcess
{
    private readonly EventLoop _loop;
    private readonly string _program;
    private readonly double _grace;
    private readonly ChildWatcher _watcher;
    private int? _returnCode;                     // null while the child runs (not yet reaped)
    private List<AioFuture<int>>? _waiters;       // one future per WaitAsync in progress
    private CancellationTokenRegistration _scopeRegistration;
    private bool _terminating;                    // the binding scope was cancelled: SIGTERM sent
    private TimerHandle? _killTimer;              // SIGKILL after the grace period
    private readonly PipeTransport?[] _pipes;     // stdin, stdout, stderr transports (null when not a pipe)

    [SupportedOSPlatform("linux")]
    internal AioProcess(EventLoop loop, string program, ProcessOptions options, ProcessSpawner.Spawned spawned, CancellationToken scopeToken)
    {
        _loop = loop;
        _program = program;
        _grace = options.TerminateGracePeriod;
        Pid = spawned.Pid;
        _pipes = new PipeTransport?[3];
        if (spawned.Stdin is { } i)
        {
            var protocol = new StreamReaderProtocol(loop, reader: null, handler: null, handlers: null);
            var transport = new PipeTransport(loop, i, isWriteEnd: true, "stdin", protocol);
            _pipes[0] = transport;
            Stdin = protocol.CreateWriterEarly(transport);
        }
        Stdout = spawned.Stdout is { } o ? ConnectReadPipe(loop, o, "stdout", options.Limit, 1) : null;
        Stderr = spawned.Stderr is { } e ? ConnectReadPipe(loop, e, "stderr", options.Limit, 2) : null;
        _watcher = ChildWatcher.Start(loop, Pid, OnExited);
        loop.OnClosed += OnLoopClosed;
        if (scopeToken.CanBeCanceled)
        {
            _scopeRegistration = scopeToken.UnsafeRegister(static s => ((AioProcess)s!).OnScopeCancelled(), this);
        }
    }

    [SupportedOSPlatform("linux")]
    private AioStreamReader ConnectReadPipe(EventLoop loop, SafeFileHandle fd, string name, int limit, int index)
    {
        var reader = new AioStreamReader(loop, limit);
        var protocol = new StreamReaderProtocol(loop, reader, handler: null, handlers: null);
        _pipes[index] = new PipeTransport(loop, fd, isWriteEnd: false, name, protocol);
        return reader;
    }

    /// <summary>The child's process id.</summary>
    public int Pid { get; }

    /// <summary>
    /// The exit code once the child has exited and was reaped; null while it runs. A child killed by a signal has the
    /// negative signal number, as in asyncio (−9 after <see cref="Kill"/>, −15 after <see cref="Terminate"/>).
    /// </summary>
    public int? ReturnCode => _returnCode;

    /// <summary>
    /// The child's standard input, when started with <see cref="ProcessOptions.Stdin"/> = <see cref="ProcessStdio.Pipe"/>;
    /// otherwise null. The same writer as a socket's: <see cref="AioStreamWriter.Write"/>, then
    /// <see cref="AioStreamWriter.DrainAsync"/> (waits while more than 64 KiB are unsent; throws
    /// <see cref="IOException"/> "broken pipe" once the child closed its input or exited); <see cref="AioStreamWriter.Close"/>
    /// or <see cref="AioStreamWriter.WriteEof"/> sends EOF once the buffer is written.
    /// </summary>
    public AioStreamWriter? Stdin { get; }

    /// <summary>
    /// The child's standard output, when started with <see cref="ProcessOptions.Stdout"/> = <see cref="ProcessStdio.Pipe"/>;
    /// otherwise null. The same reader as a socket's (limit <see cref="ProcessOptions.Limit"/>): reading stops taking
    /// data from the pipe while more than twice the limit is buffered, so back-pressure reaches the child.
    /// </summary>
    public AioStreamReader? Stdout { get; }

    /// <summary>The child's standard error, when started with <see cref="ProcessOptions.Stderr"/> = <see cref="ProcessStdio.Pipe"/>; otherwise null. See <see cref="Stdout"/>.</summary>
    public AioStreamReader? Stderr { get; }

    /// <summary>
    /// Waits for the child to exit and returns <see cref="ReturnCode"/>. With pipes, read them while waiting (or use
    /// <see cref="CommunicateAsync"/>): a child blocked on a full pipe never exits.
    /// </summary>
    /// <exception cref="CancelledError">
    /// The calling task was cancelled. If the cancellation is that of the scope that started the child, this first
    /// waits until the child has been terminated and reaped.
    /// </exception>
    public async Task<int> WaitAsync()
    {
        _loop.CheckThread(nameof(WaitAsync));
        if (_returnCode is int code)
        {
            return code;
        }
        try
        {
            return await NewWaiter();
        }
        catch (CancelledError) when (_terminating && _returnCode is null)
        {
            // The scope that owns the child is cancelled: SIGTERM (and SIGKILL after the grace period) are on their
            // way. Do not leave before the child is gone.
            await new CancelScope(shield: true).RunAsync(async () => await NewWaiter());
            throw;
        }
    }

    private AioFuture<int> NewWaiter()
    {
        var waiter = new AioFuture<int>(_loop);
        if (_returnCode is int code)
        {
            waiter.SetResult(code);
        }
        else
        {
            (_waiters ??= new List<AioFuture<int>>()).Add(waiter);
        }
        return waiter;
    }

    /// <summary>
    /// Writes <paramref name="input"/> to standard input and closes it, reads standard output and standard error to
    /// EOF – all at once, so a child that fills one pipe while we write to another never deadlocks – then waits for
    /// the child to exit (asyncio's <c>communicate</c>). A child that closes its standard input early (broken pipe)
    /// is not an error. Streams that are not pipes give null.
    /// </summary>
    /// <param name="input">Bytes for standard input; null closes it at once (if it is a pipe).</param>
    /// <exception cref="InvalidOperationException"><paramref name="input"/> was given but standard input is not a pipe.</exception>
    public async Task<(byte[]? Stdout, byte[]? Stderr)> CommunicateAsync(byte[]? input = null)
    {
        _loop.CheckThread(nameof(CommunicateAsync));
        if (input is not null && Stdin is null)
        {
            OsThrowHelper.PipeNotRedirected(nameof(ProcessOptions.Stdin));
        }
        byte[]? stdout = null, stderr = null;
        try
        {
            await TaskGroup.Run(tg =>
            {
                if (Stdin is { } writer)
                {
                    tg.CreateTask(() => FeedAsync(writer, input), "communicate-stdin");
                }
                if (Stdout is { } outReader)
                {
                    tg.CreateTask(async () => stdout = await outReader.ReadAsync(), "communicate-stdout");
                }
                if (Stderr is { } errReader)
                {
                    tg.CreateTask(async () => stderr = await errReader.ReadAsync(), "communicate-stderr");
                }
                return Task.CompletedTask;
            });
        }
        catch (AggregateException group) when (group.InnerExceptions.Count == 1)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(group.InnerExceptions[0]);
        }
        await WaitAsync();
        return (stdout, stderr);
    }

    private static async Task FeedAsync(AioStreamWriter writer, byte[]? input)
    {
        try
        {
            if (input is { Length: > 0 })
            {
                writer.Write(input);
                await writer.DrainAsync();
            }
        }
        catch (IOException)
        {
            // Broken pipe: the child does not want (more) input. asyncio's communicate ignores it too.
        }
        writer.Close();
    }

    /// <summary>
    /// Sends <paramref name="signal"/> (a Unix signal number, e.g. 2 for SIGINT, 10 for SIGUSR1) to the child. Does
    /// nothing once the child has exited and was reaped: its PID may already belong to another process.
    /// </summary>
    /// <exception cref="IOException">kill(2) failed (an invalid signal number, say).</exception>
    public void SendSignal(int signal)
    {
        _loop.CheckThread(nameof(SendSignal));
        if (_returnCode is not null || !OperatingSystem.IsLinux())
        {
            return;
        }
        if (ProcessLibC.kill(Pid, signal) != 0)
        {
            int errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
            if (errno != ProcessLibC.ESRCH)
            {
                OsThrowHelper.SystemCall("kill", errno, $"sending signal {signal} to {this}");
            }
        }
    }

    /// <summary>Sends SIGTERM: asks the child to exit.</summary>
    public void Terminate() => SendSignal(15);

    /// <summary>Sends SIGKILL: the child ends at once; <see cref="ReturnCode"/> becomes −9.</summary>
    public void Kill() => SendSignal(9);

    private void OnScopeCancelled()
    {
        if (_returnCode is not null || _terminating || _loop.IsClosed)
        {
            return;
        }
        _terminating = true;
        if (_loop.Logger.IsEnabled(LogLevel.Information))
        {
            OsLog.ProcessTerminating(_loop.Logger, Pid, _grace);
        }
        Terminate();
        _killTimer = _loop.CallLater(_grace, () =>
        {
            _killTimer = null;
            if (_returnCode is null)
            {
                if (_loop.Logger.IsEnabled(LogLevel.Warning))
                {
                    OsLog.ProcessKilled(_loop.Logger, Pid, _grace);
                }
                Kill();
            }
        });
    }

    private void OnExited(int status)
    {
        int code;
        if (!OperatingSystem.IsLinux())
        {
            return;
        }
        if (status == -1)
        {
            OsLog.ProcessReapedElsewhere(_loop.Logger, Pid);
            code = 255;
        }
        else if (ProcessLibC.WIfSignaled(status))
        {
            code = -ProcessLibC.WTermSig(status);
        }
        else
        {
            code = ProcessLibC.WExitStatus(status);
        }
        _returnCode = code;
        _killTimer?.Cancel();
        _killTimer = null;
        _scopeRegistration.Dispose();
        _loop.OnClosed -= OnLoopClosed;
        if (_waiters is { } waiters)
        {
            _waiters = null;
            foreach (AioFuture<int> w in waiters)
            {
                w.TrySetResult(code);
            }
        }
    }

    private void OnLoopClosed()
    {
        if (_returnCode is null && OperatingSystem.IsLinux())
        {
            _watcher.KillAndReapNow();
            _returnCode = -9;
        }
        if (OperatingSystem.IsLinux())
        {
            foreach (PipeTransport? pipe in _pipes)
            {
                pipe?.ReleaseOnLoopClosed();
            }
        }
    }

    /// <summary>asyncio-style description: <c>&lt;AioProcess 1234 sleep running&gt;</c>, <c>&lt;AioProcess 1234 sleep returncode=-9&gt;</c>.</summary>
    public override string ToString() =>
        _returnCode is int code ? $"<AioProcess {Pid} {_program} returncode={code}>" : $"<AioProcess {Pid} {_program} running>";

    internal static CancellationToken CurrentScopeToken()
    {
        Checkpoint.ThrowIfCancelled();
        return Asyncio.CurrentToken;
    }
}
