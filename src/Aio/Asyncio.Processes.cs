using Aio.Net;
using Aio.Os;
using Aio.Os.Internal;
using Aio.Streams.Internal;

namespace Aio;

public static partial class Asyncio
{
    /// <summary>
    /// Starts <paramref name="program"/> with <paramref name="args"/> as a child process (asyncio's
    /// <c>create_subprocess_exec</c>). A program name without a slash is looked up on <c>PATH</c> (the child's, if
    /// <see cref="ProcessOptions.Environment"/> sets one). No shell is involved: arguments are passed as they are.
    /// </summary>
    /// <remarks>
    /// The child is bound to the current cancel scope: when it is cancelled while the child runs, the child gets
    /// SIGTERM, then SIGKILL after <see cref="ProcessOptions.TerminateGracePeriod"/>. Linux only for now.
    /// </remarks>
    /// <exception cref="FileNotFoundException">The program is not on <c>PATH</c>.</exception>
    /// <exception cref="IOException">The program could not be started (not executable, say).</exception>
    /// <exception cref="PlatformNotSupportedException">Not on Linux.</exception>
    /// <exception cref="CancelledError">The current scope is already cancelled (nothing was started).</exception>
    public static Task<AioProcess> CreateSubprocessExecAsync(string program, IEnumerable<string>? args = null, ProcessOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(program);
        EventLoop loop = EventLoop.RunningLoopFor(nameof(CreateSubprocessExecAsync));
        loop.CheckClosed(nameof(CreateSubprocessExecAsync));
        options ??= new ProcessOptions();
        ArgumentOutOfRangeException.ThrowIfNegative(options.TerminateGracePeriod, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Limit, 1, nameof(options));
        if (!OperatingSystem.IsLinux())
        {
            OsThrowHelper.SubprocessesNeedLinux();
            return null;
        }
        CancellationToken scopeToken = AioProcess.CurrentScopeToken();
        string[] argv = args?.ToArray() ?? [];
        ProcessSpawner.Spawned spawned = ProcessSpawner.Spawn(program, argv, options);
        var process = new AioProcess(loop, program, options, spawned, scopeToken);
        if (loop.Logger.IsEnabled(Microsoft.Extensions.Logging.LogLevel.Debug))
        {
            OsLog.ProcessStarted(loop.Logger, process.Pid, program);
        }
        return Task.FromResult(process);
    }

    /// <summary>
    /// Starts <paramref name="command"/> with <c>/bin/sh -c</c> (asyncio's <c>create_subprocess_shell</c>). Quote
    /// what the shell should not interpret; prefer <see cref="CreateSubprocessExecAsync"/> for untrusted arguments.
    /// </summary>
    /// <exception cref="PlatformNotSupportedException">Not on Linux.</exception>
    public static Task<AioProcess> CreateSubprocessShellAsync(string command, ProcessOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(command);
        return CreateSubprocessExecAsync("/bin/sh", ["-c", command], options);
    }
}
