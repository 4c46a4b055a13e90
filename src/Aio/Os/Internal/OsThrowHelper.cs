using System.Diagnostics.CodeAnalysis;
using System.Runtime.InteropServices;

namespace Aio.Os.Internal;

/// <summary>The error messages of the operating-system layer, in one place (see <c>Aio.Internal.ThrowHelper</c>).</summary>
internal static class OsThrowHelper
{
    private const int EPIPE = 32;   // Linux

    [DoesNotReturn]
    public static void ExecutorShutDown(EventLoop loop) =>
        throw new InvalidOperationException(
            $"The default executor of {loop} is shut down; RunInExecutor and ToThread cannot start new work. " +
            "Submit work before the loop shuts down, or run it on a new loop.");

    [DoesNotReturn]
    public static void UncatchableSignal(PosixSignal signal) =>
        throw new ArgumentException(
            $"Signal {Describe(signal)} cannot be caught (SIGKILL and SIGSTOP never reach a handler); pick another signal.", nameof(signal));

    [DoesNotReturn]
    public static void SignalsNotSupported(PosixSignal signal, Exception inner) =>
        throw new PlatformNotSupportedException(
            $"Cannot handle signal {Describe(signal)} on this platform ({RuntimeInformation.OSDescription}): {inner.Message}", inner);

    [DoesNotReturn]
    public static void SubprocessesNeedLinux() =>
        throw new PlatformNotSupportedException(
            $"Aio subprocesses are implemented on Linux (posix_spawn, pidfd, epoll); this is {RuntimeInformation.OSDescription}. " +
            "Use System.Diagnostics.Process through Asyncio.Cancellable on this platform.");

    [DoesNotReturn]
    public static void StderrToStdoutOnlyForStderr(string member) =>
        throw new ArgumentException(
            $"ProcessStdio.Stdout can only be given for ProcessOptions.Stderr (it sends the child's standard error to its standard output); {member} cannot use it.");

    [DoesNotReturn]
    public static void SystemCall(string call, int errno, string what) =>
        throw new IOException($"{call} failed with errno {errno} ({Marshal.GetPInvokeErrorMessage(errno)}) while {what}.", errno);

    [DoesNotReturn]
    public static void ProgramNotFound(string program, string? path) =>
        throw new FileNotFoundException(
            $"Cannot start '{program}': no executable of that name on PATH ({path ?? "<unset>"}). Pass a full path or fix PATH in ProcessOptions.Environment.",
            program);

    [DoesNotReturn]
    public static void SpawnFailed(string program, int errno) =>
        throw new IOException(
            $"Cannot start '{program}': posix_spawn failed with errno {errno} ({Marshal.GetPInvokeErrorMessage(errno)}). " +
            "Check that the file exists, is executable, and that the working directory exists.", errno);

    [DoesNotReturn]
    public static void PipeNotRedirected(string pipe) =>
        throw new InvalidOperationException(
            $"The process's {pipe} is not a pipe; start it with ProcessOptions {{ {pipe} = ProcessStdio.Pipe }} to use it.");

    public static IOException BrokenPipe(string pipe) =>
        new($"Broken pipe ({pipe}): the child process closed its standard input or exited, so it will not read what was written. " +
            "Stop writing to it (CommunicateAsync ignores this error); check the child's exit code with WaitAsync.", EPIPE);

    public static string Describe(PosixSignal signal) => (int)signal switch
    {
        < 0 => signal.ToString(),
        1 => "SIGHUP",
        2 => "SIGINT",
        3 => "SIGQUIT",
        9 => "SIGKILL",
        10 => "SIGUSR1",
        12 => "SIGUSR2",
        15 => "SIGTERM",
        19 => "SIGSTOP",
        int n => $"signal {n}",
    };
}
