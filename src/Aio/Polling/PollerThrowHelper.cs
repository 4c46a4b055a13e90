using System.Diagnostics.CodeAnalysis;
using System.Runtime.InteropServices;

namespace Aio.Polling;

/// <summary>
/// The error messages of the poller layer in one place (the core's <c>ThrowHelper</c> keeps the
/// rest), so <see cref="IPoller"/> methods stay small and the wording can be reviewed as a set.
/// </summary>
internal static class PollerThrowHelper
{
    /// <summary>Register was given a descriptor that already has a registration.</summary>
    [DoesNotReturn]
    public static void AlreadyRegistered(IPoller poller, int fd) =>
        throw new InvalidOperationException(
            $"Descriptor {fd} is already registered with {poller}. Call Modify to change its interest, or Unregister " +
            "it first (and always Unregister a descriptor before closing it: the number can be reused).");

    /// <summary>Modify was given a descriptor that has no registration.</summary>
    [DoesNotReturn]
    public static void NotRegistered(IPoller poller, int fd) =>
        throw new InvalidOperationException(
            $"Descriptor {fd} is not registered with {poller}; call Register before Modify.");

    /// <summary>An interest had bits other than Read and Write.</summary>
    [DoesNotReturn]
    public static void InvalidInterest(IoEvents interest) =>
        throw new ArgumentOutOfRangeException(
            nameof(interest), interest,
            $"Interest {interest} is not valid: ask for Read, Write, both, or None. Error and HangUp cannot be asked " +
            "for; they are always reported while Read or Write is.");

    /// <summary>A closed or invalid handle was passed where an open descriptor is needed.</summary>
    [DoesNotReturn]
    public static void HandleNotOpen(string paramName) =>
        throw new ArgumentException("The handle is closed or invalid; only an open descriptor can be registered.", paramName);

    /// <summary>A member other than Wake or Dispose was called after Dispose.</summary>
    [DoesNotReturn]
    public static void Disposed(IPoller poller) =>
        throw new ObjectDisposedException(
            poller.GetType().Name,
            $"{poller} is disposed (its loop was closed); create a new EventLoop.");

    /// <summary>A readiness member was called on the portable poller.</summary>
    [DoesNotReturn]
    public static void NoReadiness(string member) =>
        throw new NotSupportedException(
            $"{member}: the portable poller has no readiness registrations; sockets on it use .NET's async socket " +
            "methods. Check IPoller.SupportsReadiness before registering.");

    /// <summary>A libc call failed with <paramref name="errno"/>.</summary>
    [DoesNotReturn]
    public static void SystemCallFailed(string call, int errno, IPoller? poller) =>
        throw new IOException(
            $"{call} failed with errno {errno} ({Marshal.GetPInvokeErrorMessage(errno)})" +
            (poller is null ? "." : $" on {poller}."));

    /// <summary>A back-end name that <see cref="PollerFactory"/> does not know.</summary>
    [DoesNotReturn]
    public static void UnknownBackEnd(string name, bool fromEnvironment) =>
        throw new ArgumentException(
            $"Unknown poller back end '{name}'" +
            (fromEnvironment ? $" (from the {PollerFactory.EnvironmentVariable} environment variable)" : "") +
            $". Valid names are '{PollerFactory.Epoll}' (Linux only) and '{PollerFactory.Portable}'.",
            fromEnvironment ? PollerFactory.EnvironmentVariable : "backend");

    /// <summary>The epoll back end was asked for on an OS that has no epoll (typed to fit a conditional expression).</summary>
    [DoesNotReturn]
    public static IPoller EpollNeedsLinux() =>
        throw new PlatformNotSupportedException(
            $"The '{PollerFactory.Epoll}' poller needs Linux, and this is {RuntimeInformation.OSDescription}. " +
            $"Use '{PollerFactory.Portable}', or leave the back end unset to get this OS's default.");
}
