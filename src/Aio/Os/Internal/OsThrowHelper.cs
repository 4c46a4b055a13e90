using System.Diagnostics.CodeAnalysis;
using System.Runtime.InteropServices;
using Aio.Internal;

namespace Aio.Os.Internal;

/// <summary>The error messages of the operating-system layer, in one place (see <c>Aio.Internal.ThrowHelper</c>).</summary>
internal static class OsThrowHelper
{
    private const int EPIPE = 32;   // Linux

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
}
