using System.Runtime.InteropServices;

namespace Aio.Polling;

/// <summary>Readiness events a poller reports for a registered file descriptor.</summary>
[Flags]
internal enum IoEvents
{
    /// <summary>No event.</summary>
    None = 0,
    /// <summary>The descriptor is readable (or a listening socket has a connection to accept).</summary>
    Read = 1,
    /// <summary>The descriptor is writable.</summary>
    Write = 2,
    /// <summary>An error condition is pending on the descriptor.</summary>
    Error = 4,
    /// <summary>The peer hung up.</summary>
    HangUp = 8,
}

/// <summary>Receives readiness notifications for one registered descriptor, on the loop thread.</summary>
internal interface IIoHandler
{
    /// <summary>Called on the loop thread, from <see cref="IPoller.Poll"/>, when the descriptor is ready.</summary>
    void OnIoReady(IoEvents events);
}

/// <summary>
/// The bottom layer of the loop: waits for I/O readiness or a wake-up, with a timeout.
/// One poller belongs to one <see cref="EventLoop"/>; every member except <see cref="Wake"/> is
/// called only on that loop's thread.
/// </summary>
/// <remarks>
/// Two back ends implement it: <see cref="EpollPoller"/> (Linux: epoll + eventfd, readiness based,
/// sockets are registered by descriptor and read and written synchronously on readiness) and
/// <see cref="PortablePoller"/> (any OS: no readiness registrations; sockets use .NET's async
/// methods and post their completions to the loop with <c>CallSoonThreadSafe</c>, and the poller
/// only waits for wake-ups and timeouts).
/// </remarks>
internal interface IPoller : IDisposable
{
    /// <summary>Short name of the back end ("epoll", "portable"), for logs and test names.</summary>
    string Name { get; }

    /// <summary>True when descriptors can be registered for readiness (<see cref="Register"/> works).</summary>
    bool SupportsReadiness { get; }

    /// <summary>How many descriptors are registered now (the wake-up descriptor not counted).</summary>
    int RegistrationCount { get; }

    /// <summary>Registers <paramref name="fd"/> for <paramref name="interest"/>; level-triggered.</summary>
    void Register(SafeHandle fd, IoEvents interest, IIoHandler handler);

    /// <summary>Changes the events a registered descriptor is watched for (None keeps it registered but silent).</summary>
    void Modify(SafeHandle fd, IoEvents interest);

    /// <summary>Removes a registration; unknown descriptors are ignored.</summary>
    void Unregister(SafeHandle fd);

    /// <summary>
    /// Waits up to <paramref name="timeoutMs"/> milliseconds (-1: no limit, 0: do not block) for
    /// readiness or a <see cref="Wake"/>, then calls the handlers of the ready descriptors.
    /// Returns the number of handlers called.
    /// </summary>
    int Poll(int timeoutMs);

    /// <summary>Interrupts a <see cref="Poll"/> in progress, or makes the next one return at once. Any thread.</summary>
    void Wake();
}
