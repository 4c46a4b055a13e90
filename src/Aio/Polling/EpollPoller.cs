// EpollPoller: the Linux back end of IPoller.
//
// Model. One epoll instance per loop. Descriptors are registered level-triggered, keyed by their
// number: the dictionary maps fd -> Registration (handler, current interest, generation). The
// 64-bit epoll `data` of each registration carries (generation << 32) | fd, so a dispatch can look
// the registration up again and drop an event that was collected for an older registration.
// Poll() is one epoll_wait into a pinned buffer of 256 events, then one OnIoReady call per ready
// descriptor, on the loop thread, in the kernel's order.
//
// Why level-triggered. The loop reads and writes on readiness until it has had enough (a
// transport may stop after 64 KiB to be fair to other sockets), not until EAGAIN. With
// level-triggering whatever is left is reported again on the next Poll; with edge-triggering
// every handler would have to drain to EAGAIN or lose the descriptor forever. Interest None
// removes the descriptor from the epoll set (it stays in the dictionary): the kernel reports
// EPOLLERR/EPOLLHUP even for an empty event mask, and level-triggered that would spin the loop
// on a hung-up socket that a transport has paused.
//
// Dispatch is re-entrant. A handler may Register, Modify or Unregister any descriptor, its own
// included. Each event is re-checked against the dictionary before it is delivered: a
// descriptor unregistered (or unregistered and registered again: new generation) earlier in the
// batch gets nothing, and a descriptor whose interest changed gets only what it still asks for.
// A handler that throws is reported to the error sink and the batch goes on.
//
// Wake-ups and their coalescing. Wake() writes 1 to a non-blocking eventfd that is in the epoll
// set. `_wakePending` is set by the first Wake() after a drain and cleared by Poll() right *after*
// it has read (reset) the eventfd; a Wake() that finds it set returns without a system call. So a
// burst of CallSoonThreadSafe posts costs one write per loop iteration, not one per post. The
// order matters: clearing before the read could swallow a write made in between and leave the
// flag set with nothing to read, and every later Wake() would then be skipped (a lost wake-up
// and a loop blocked forever). Clearing after the read can only skip the write of a Wake() that
// raced with the drain, and that Wake() is covered by the Poll() in progress, which returns and
// lets the loop drain its inbox.
//
// The struct trap. struct epoll_event is packed (12 bytes) on x86_64 but naturally aligned
// (16 bytes) on arm64; see Interop/EpollEvent.cs. All event memory goes through that helper.
//
// Lifetime. Both descriptors are FileDescriptorHandles (closed by Dispose, or by their finalizers
// if a poller is leaked), and the event buffer is a pinned managed array, so nothing leaks and a
// Wake() racing with Dispose() never writes into a descriptor number the process has reused.

using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using Aio.Polling.Interop;

namespace Aio.Polling;

/// <summary>
/// The Linux poller: epoll (level-triggered, keyed by descriptor) plus an eventfd for
/// <see cref="Wake"/>. Belongs to one loop; only <see cref="Wake"/> may be called from other threads.
/// </summary>
[SupportedOSPlatform("linux")]
[DebuggerDisplay("{ToString(),nq}")]
internal sealed unsafe class EpollPoller : IPoller
{
    /// <summary>How many events one epoll_wait can return; more stay ready for the next Poll.</summary>
    private const int MaxEventsPerPoll = 256;

    /// <summary>The epoll data of the eventfd. Registrations never produce it (their fd is never -1).</summary>
    private const ulong WakeToken = ulong.MaxValue;

    private readonly Action<Exception, IIoHandler> _errorSink;
    private readonly Dictionary<int, Registration> _registrations = new(); // fd -> registration, silent ones included
    private readonly FileDescriptorHandle _epollHandle;
    private readonly FileDescriptorHandle _wakeHandle;
    private readonly int _epollFd;               // _epollHandle's number, cached for the hot path
    private readonly int _wakeFd;                // _wakeHandle's number; written by Wake() only under a ref
    private readonly byte[] _eventBuffer;        // MaxEventsPerPoll * EpollEvent.Size bytes, pinned
    private readonly byte* _events;              // address of _eventBuffer (pinned, so it never moves)
    private uint _lastGeneration;                // generation of the latest Register; wraps after 2^32
    private int _wakePending;                    // 1 while a Wake() has written the eventfd and no Poll drained it
    private volatile bool _disposed;

    /// <summary>Creates the epoll instance and the wake-up eventfd.</summary>
    /// <param name="errorSink">Receives an exception thrown by a handler, with that handler; the poll goes on.</param>
    public EpollPoller(Action<Exception, IIoHandler> errorSink)
    {
        ArgumentNullException.ThrowIfNull(errorSink);
        _errorSink = errorSink;

        _epollHandle = new FileDescriptorHandle(LibC.epoll_create1(LibC.EPOLL_CLOEXEC));
        if (_epollHandle.IsInvalid)
        {
            PollerThrowHelper.SystemCallFailed("epoll_create1", Marshal.GetLastPInvokeError(), null);
        }

        _wakeHandle = new FileDescriptorHandle(LibC.eventfd(0, LibC.EFD_NONBLOCK | LibC.EFD_CLOEXEC));
        if (_wakeHandle.IsInvalid)
        {
            int errno = Marshal.GetLastPInvokeError();
            _epollHandle.Dispose();
            PollerThrowHelper.SystemCallFailed("eventfd", errno, null);
        }

        _epollFd = _epollHandle.Fd;
        _wakeFd = _wakeHandle.Fd;
        _eventBuffer = GC.AllocateUninitializedArray<byte>(MaxEventsPerPoll * EpollEvent.Size, pinned: true);
        _events = (byte*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_eventBuffer));

        try
        {
            Control(LibC.EPOLL_CTL_ADD, _wakeFd, LibC.EPOLLIN, WakeToken);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <inheritdoc/>
    public string Name => PollerFactory.Epoll;

    /// <inheritdoc/>
    public bool SupportsReadiness => true;

    /// <inheritdoc/>
    public int RegistrationCount => _registrations.Count;

    /// <inheritdoc/>
    public void Register(SafeHandle fd, IoEvents interest, IIoHandler handler)
    {
        ThrowIfDisposed();
        ArgumentNullException.ThrowIfNull(handler);
        ValidateInterest(interest);
        int number = OpenDescriptor(fd);
        if (_registrations.ContainsKey(number))
        {
            PollerThrowHelper.AlreadyRegistered(this, number);
        }

        var registration = new Registration(number, unchecked(++_lastGeneration), handler, interest);
        if (interest != IoEvents.None)
        {
            Control(LibC.EPOLL_CTL_ADD, number, ToEpoll(interest), registration.Token);
        }

        _registrations.Add(number, registration);
    }

    /// <inheritdoc/>
    public void Modify(SafeHandle fd, IoEvents interest)
    {
        ThrowIfDisposed();
        ValidateInterest(interest);
        int number = OpenDescriptor(fd);
        if (!_registrations.TryGetValue(number, out Registration? registration))
        {
            PollerThrowHelper.NotRegistered(this, number);
        }

        if (interest == registration.Interest)
        {
            return; // transports toggle Write often; an unchanged mask costs no system call
        }

        int op = registration.Interest == IoEvents.None ? LibC.EPOLL_CTL_ADD
            : interest == IoEvents.None ? LibC.EPOLL_CTL_DEL
            : LibC.EPOLL_CTL_MOD;
        Control(op, number, ToEpoll(interest), registration.Token);
        registration.Interest = interest;
    }

    /// <inheritdoc/>
    /// <remarks>After <see cref="Dispose"/> every descriptor is unknown, so this does nothing.</remarks>
    public void Unregister(SafeHandle fd)
    {
        ArgumentNullException.ThrowIfNull(fd);
        if (_disposed)
        {
            return;
        }

        // No IsClosed check: a close path may unregister a handle that is already closed; its
        // number is still the key, and the kernel has dropped it from the epoll set (EBADF) or the
        // number now names another file that was never added here (ENOENT).
        int number = (int)fd.DangerousGetHandle();
        if (!_registrations.Remove(number, out Registration? registration) || registration.Interest == IoEvents.None)
        {
            return;
        }

        if (LibC.epoll_ctl(_epollFd, LibC.EPOLL_CTL_DEL, number, null) != 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            if (errno is not (LibC.EBADF or LibC.ENOENT))
            {
                PollerThrowHelper.SystemCallFailed("epoll_ctl(EPOLL_CTL_DEL)", errno, this);
            }
        }
    }

    /// <inheritdoc/>
    public int Poll(int timeoutMs)
    {
        ThrowIfDisposed();
        ArgumentOutOfRangeException.ThrowIfLessThan(timeoutMs, -1);

        int count = Wait(timeoutMs);
        int called = 0;
        // _disposed is re-checked because a handler may dispose the poller (its loop closing).
        for (int i = 0; i < count && !_disposed; i++)
        {
            byte* ev = _events + (i * EpollEvent.Size);
            ulong data = EpollEvent.ReadData(ev);
            if (data == WakeToken)
            {
                DrainWake();
                continue;
            }

            // Look the descriptor up again: an earlier handler in this batch may have unregistered
            // it (no entry), registered it again (other generation) or changed its interest.
            if (!_registrations.TryGetValue((int)(uint)data, out Registration? registration)
                || registration.Generation != (uint)(data >> 32))
            {
                continue;
            }

            IoEvents ready = ToIoEvents(EpollEvent.ReadEvents(ev))
                & (registration.Interest | IoEvents.Error | IoEvents.HangUp);
            if (registration.Interest == IoEvents.None || ready == IoEvents.None)
            {
                continue;
            }

            called++;
            try
            {
                registration.Handler.OnIoReady(ready);
            }
#pragma warning disable CA1031 // A handler's failure belongs to the loop's exception handler, not to the poll.
            catch (Exception exception)
#pragma warning restore CA1031
            {
                _errorSink(exception, registration.Handler);
            }
        }

        return called;
    }

    /// <inheritdoc/>
    /// <remarks>
    /// At most one eventfd write per drain (see the design note). After <see cref="Dispose"/>,
    /// or racing with it, this does nothing.
    /// </remarks>
    public void Wake()
    {
        // The plain read first keeps a burst of wakes from bouncing the cache line in exclusive mode.
        if (Volatile.Read(ref _wakePending) != 0 || Interlocked.Exchange(ref _wakePending, 1) != 0)
        {
            return;
        }

        bool added = false;
        try
        {
            _wakeHandle.DangerousAddRef(ref added); // throws once Dispose has closed the handle
            ulong one = 1;
            // Cannot fail while open: the counter would have to reach 2^64 - 1 to give EAGAIN.
            _ = LibC.write(_wakeFd, &one, sizeof(ulong));
        }
        catch (ObjectDisposedException)
        {
            // The poller is disposed: there is no Poll left to wake.
        }
        finally
        {
            if (added)
            {
                _wakeHandle.DangerousRelease();
            }
        }
    }

    /// <summary>Closes the epoll instance and the eventfd and forgets every registration. Idempotent.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _registrations.Clear();
        _wakeHandle?.Dispose(); // null only when the constructor failed before creating it
        _epollHandle?.Dispose();
    }

    /// <summary>asyncio-style description, e.g. <c>&lt;EpollPoller epfd=7 registrations=2&gt;</c>.</summary>
    public override string ToString() =>
        _disposed ? "<EpollPoller disposed>" : $"<EpollPoller epfd={_epollFd} registrations={_registrations.Count}>";

    /// <summary>epoll_wait, retried on EINTR with what is left of the timeout.</summary>
    private int Wait(int timeoutMs)
    {
        long deadline = timeoutMs > 0 ? Environment.TickCount64 + timeoutMs : 0;
        while (true)
        {
            int count = LibC.epoll_wait(_epollFd, _events, MaxEventsPerPoll, timeoutMs);
            if (count >= 0)
            {
                return count;
            }

            int errno = Marshal.GetLastPInvokeError();
            if (errno != LibC.EINTR)
            {
                PollerThrowHelper.SystemCallFailed("epoll_wait", errno, this);
            }

            if (timeoutMs > 0)
            {
                timeoutMs = (int)Math.Max(0, deadline - Environment.TickCount64);
            }
        }
    }

    /// <summary>Resets the eventfd, then re-arms Wake (the order is what keeps wakes from being lost).</summary>
    private void DrainWake()
    {
        ulong value;
        _ = LibC.read(_wakeFd, &value, sizeof(ulong)); // EAGAIN (nothing to read) is harmless
        Interlocked.Exchange(ref _wakePending, 0);
    }

    private void Control(int op, int fd, uint events, ulong data)
    {
        byte* ev = stackalloc byte[EpollEvent.MaxSize];
        EpollEvent.Write(ev, events, data);
        if (LibC.epoll_ctl(_epollFd, op, fd, ev) != 0)
        {
            PollerThrowHelper.SystemCallFailed(
                op switch
                {
                    LibC.EPOLL_CTL_ADD => "epoll_ctl(EPOLL_CTL_ADD)",
                    LibC.EPOLL_CTL_MOD => "epoll_ctl(EPOLL_CTL_MOD)",
                    _ => "epoll_ctl(EPOLL_CTL_DEL)",
                },
                Marshal.GetLastPInvokeError(),
                this);
        }
    }

    private void ThrowIfDisposed()
    {
        if (_disposed)
        {
            PollerThrowHelper.Disposed(this);
        }
    }

    private static int OpenDescriptor(SafeHandle fd)
    {
        ArgumentNullException.ThrowIfNull(fd);
        if (fd.IsClosed || fd.IsInvalid)
        {
            PollerThrowHelper.HandleNotOpen(nameof(fd));
        }

        return (int)fd.DangerousGetHandle();
    }

    private static void ValidateInterest(IoEvents interest)
    {
        if ((interest & ~(IoEvents.Read | IoEvents.Write)) != 0)
        {
            PollerThrowHelper.InvalidInterest(interest);
        }
    }

    private static uint ToEpoll(IoEvents interest) =>
        ((interest & IoEvents.Read) != 0 ? LibC.EPOLLIN : 0u) | ((interest & IoEvents.Write) != 0 ? LibC.EPOLLOUT : 0u);

    private static IoEvents ToIoEvents(uint events) =>
        ((events & LibC.EPOLLIN) != 0 ? IoEvents.Read : IoEvents.None)
        | ((events & LibC.EPOLLOUT) != 0 ? IoEvents.Write : IoEvents.None)
        | ((events & LibC.EPOLLERR) != 0 ? IoEvents.Error : IoEvents.None)
        | ((events & (LibC.EPOLLHUP | LibC.EPOLLRDHUP)) != 0 ? IoEvents.HangUp : IoEvents.None);

    /// <summary>One registered descriptor. Invariant: it is in the epoll set exactly when Interest is not None.</summary>
    private sealed class Registration(int fd, uint generation, IIoHandler handler, IoEvents interest)
    {
        /// <summary>The descriptor number (the dictionary key).</summary>
        public int Fd { get; } = fd;

        /// <summary>Distinguishes this registration from earlier ones of the same number.</summary>
        public uint Generation { get; } = generation;

        /// <summary>Called with the ready events.</summary>
        public IIoHandler Handler { get; } = handler;

        /// <summary>Read, Write, both, or None (silent: not in the epoll set).</summary>
        public IoEvents Interest { get; set; } = interest;

        /// <summary>The epoll data of this registration: generation in the high half, fd in the low.</summary>
        public ulong Token => ((ulong)Generation << 32) | (uint)Fd;
    }
}
