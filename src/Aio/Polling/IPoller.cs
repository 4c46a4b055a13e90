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
    /// <summary>
    /// Called on the loop thread, from <see cref="IPoller.Poll"/>, when the descriptor is ready.
    /// It may register, modify or unregister any descriptor (its own included); an exception it
    /// throws goes to the poller's error sink and the poll goes on.
    /// </summary>
    /// <param name="events">What is ready: part of the interest, plus Error or HangUp when pending.</param>
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

    /// <summary>
    /// Registers <paramref name="fd"/> for <paramref name="interest"/>; level-triggered.
    /// </summary>
    /// <remarks>
    /// <paramref name="interest"/> is Read, Write, both, or None (registered but silent); Error and
    /// HangUp cannot be asked for and are reported whenever Read or Write is. The poller keys the
    /// registration by descriptor number and holds no reference on the handle: Unregister before
    /// closing the handle, or the number may be reused while still registered.
    /// </remarks>
    /// <exception cref="InvalidOperationException">The descriptor is already registered.</exception>
    /// <exception cref="NotSupportedException">The back end has no readiness (<see cref="SupportsReadiness"/> is false).</exception>
    void Register(SafeHandle fd, IoEvents interest, IIoHandler handler);

    /// <summary>Changes the events a registered descriptor is watched for (None keeps it registered but silent).</summary>
    /// <exception cref="InvalidOperationException">The descriptor is not registered.</exception>
    /// <exception cref="NotSupportedException">The back end has no readiness (<see cref="SupportsReadiness"/> is false).</exception>
    void Modify(SafeHandle fd, IoEvents interest);

    /// <summary>
    /// Removes a registration; unknown descriptors are ignored, and so is a handle closed since it was
    /// registered. An event for it already collected by a <see cref="Poll"/> in progress is not delivered.
    /// </summary>
    /// <exception cref="NotSupportedException">The back end has no readiness (<see cref="SupportsReadiness"/> is false).</exception>
    void Unregister(SafeHandle fd);

    /// <summary>
    /// Waits up to <paramref name="timeoutMs"/> milliseconds (-1: no limit, 0: do not block) for
    /// readiness or a <see cref="Wake"/>, then calls the handlers of the ready descriptors.
    /// Returns the number of handlers called.
    /// </summary>
    int Poll(int timeoutMs);

    /// <summary>
    /// Interrupts a <see cref="Poll"/> in progress, or makes the next one return at once. Any thread;
    /// cheap when repeated (wakes coalesce until a Poll consumes them); does nothing after Dispose.
    /// </summary>
    void Wake();
}
