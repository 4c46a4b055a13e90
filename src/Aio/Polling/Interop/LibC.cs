using System.Runtime.InteropServices;
using System.Runtime.Versioning;

namespace Aio.Polling.Interop;

/// <summary>
/// The few Linux libc calls the epoll back end needs, as source-generated P/Invoke. Every call sets
/// errno on failure (read it with <see cref="Marshal.GetLastPInvokeError"/>); the values of the
/// constants are those of the generic Linux ABI (x86, x86_64, arm, arm64, riscv64).
/// </summary>
[SupportedOSPlatform("linux")]
internal static unsafe partial class LibC
{
    private const string Library = "libc";

    // ---- errno values ----

    /// <summary>No such file or directory (epoll_ctl: the descriptor is not registered).</summary>
    public const int ENOENT = 2;

    /// <summary>Interrupted system call: a signal arrived; retry.</summary>
    public const int EINTR = 4;

    /// <summary>Bad file descriptor (it was closed).</summary>
    public const int EBADF = 9;

    /// <summary>Resource temporarily unavailable: a non-blocking call would block.</summary>
    public const int EAGAIN = 11;

    // ---- flags ----

    /// <summary>epoll_create1: close the epoll descriptor on exec.</summary>
    public const int EPOLL_CLOEXEC = 0x80000;

    /// <summary>eventfd: non-blocking reads and writes.</summary>
    public const int EFD_NONBLOCK = 0x800;

    /// <summary>eventfd: close on exec.</summary>
    public const int EFD_CLOEXEC = 0x80000;

    /// <summary>accept4: the accepted socket is non-blocking.</summary>
    public const int SOCK_NONBLOCK = 0x800;

    /// <summary>accept4: the accepted socket is closed on exec.</summary>
    public const int SOCK_CLOEXEC = 0x80000;

    /// <summary>epoll_ctl operation: add a descriptor to the interest list.</summary>
    public const int EPOLL_CTL_ADD = 1;

    /// <summary>epoll_ctl operation: remove a descriptor from the interest list.</summary>
    public const int EPOLL_CTL_DEL = 2;

    /// <summary>epoll_ctl operation: change the events of a registered descriptor.</summary>
    public const int EPOLL_CTL_MOD = 3;

    /// <summary>epoll event: readable.</summary>
    public const uint EPOLLIN = 0x001;

    /// <summary>epoll event: writable.</summary>
    public const uint EPOLLOUT = 0x004;

    /// <summary>epoll event: error condition (always reported, never requested).</summary>
    public const uint EPOLLERR = 0x008;

    /// <summary>epoll event: hang-up (always reported, never requested).</summary>
    public const uint EPOLLHUP = 0x010;

    /// <summary>epoll event: the peer shut down its writing half.</summary>
    public const uint EPOLLRDHUP = 0x2000;

    // ---- calls ----

    /// <summary>Creates an epoll instance; returns its descriptor or -1.</summary>
    [LibraryImport(Library, SetLastError = true)]
    public static partial int epoll_create1(int flags);

    /// <summary>
    /// Adds, changes or removes <paramref name="fd"/> in the interest list of <paramref name="epfd"/>;
    /// <paramref name="ev"/> points at one <c>struct epoll_event</c> laid out as <see cref="EpollEvent"/> says.
    /// </summary>
    [LibraryImport(Library, SetLastError = true)]
    public static partial int epoll_ctl(int epfd, int op, int fd, byte* ev);

    /// <summary>
    /// Waits up to <paramref name="timeout"/> ms (-1: forever) for events and writes up to
    /// <paramref name="maxevents"/> of them to <paramref name="events"/>; returns how many, or -1.
    /// </summary>
    [LibraryImport(Library, SetLastError = true)]
    public static partial int epoll_wait(int epfd, byte* events, int maxevents, int timeout);

    /// <summary>Creates an eventfd counter starting at <paramref name="initval"/>; returns its descriptor or -1.</summary>
    [LibraryImport(Library, SetLastError = true)]
    public static partial int eventfd(uint initval, int flags);

    /// <summary>Reads up to <paramref name="count"/> bytes; returns the number read, or -1.</summary>
    [LibraryImport(Library, SetLastError = true)]
    public static partial nint read(int fd, void* buf, nuint count);

    /// <summary>Writes up to <paramref name="count"/> bytes; returns the number written, or -1.</summary>
    [LibraryImport(Library, SetLastError = true)]
    public static partial nint write(int fd, void* buf, nuint count);

    /// <summary>Closes a descriptor; returns 0 or -1.</summary>
    [LibraryImport(Library, SetLastError = true)]
    public static partial int close(int fd);

    /// <summary>
    /// Accepts a connection on the listening socket <paramref name="sockfd"/>; returns the new
    /// descriptor or -1 (EAGAIN when none is pending). Pass <see cref="SOCK_NONBLOCK"/> |
    /// <see cref="SOCK_CLOEXEC"/>; <paramref name="addr"/> and <paramref name="addrlen"/> may be null.
    /// </summary>
    [LibraryImport(Library, SetLastError = true)]
    public static partial int accept4(int sockfd, void* addr, uint* addrlen, int flags);

    /// <summary>Invalid argument (sendfile: the file cannot be mapped, e.g. a pipe or some file systems).</summary>
    public const int EINVAL = 22;

    /// <summary>Broken pipe: the peer closed the connection.</summary>
    public const int EPIPE = 32;

    /// <summary>Function not implemented.</summary>
    public const int ENOSYS = 38;

    /// <summary>Operation not supported.</summary>
    public const int EOPNOTSUPP = 95;

    /// <summary>Connection reset by peer.</summary>
    public const int ECONNRESET = 104;

    /// <summary>
    /// Copies up to <paramref name="count"/> bytes of <paramref name="in_fd"/> (a regular file) from <paramref name="offset"/>
    /// to <paramref name="out_fd"/> inside the kernel; advances <paramref name="offset"/> and returns the bytes copied, 0 at
    /// the file's end, or -1 (EAGAIN when a non-blocking socket is full). 64-bit processes only (there off_t is 64 bits).
    /// </summary>
    [LibraryImport(Library, SetLastError = true)]
    public static partial nint sendfile(int out_fd, int in_fd, long* offset, nuint count);
}
