using System.Runtime.InteropServices;
using System.Runtime.Versioning;

namespace Aio.Os.Interop;

/// <summary>
/// The libc calls the subprocess and signal layer needs (glibc on Linux), as source-generated P/Invoke.
/// Calls that set errno are marked <c>SetLastError</c>; posix_spawn* return the error number instead.
/// Constants are those of the generic Linux ABI (x86_64, arm64).
/// </summary>
[SupportedOSPlatform("linux")]
internal static unsafe partial class ProcessLibC
{
    private const string Library = "libc";

    public const int EINTR = 4;
    public const int EAGAIN = 11;
    public const int ECHILD = 10;
    public const int ESRCH = 3;
    public const int EPIPE = 32;

    public const int O_RDONLY = 0;
    public const int O_WRONLY = 1;
    public const int O_RDWR = 2;
    public const int O_NONBLOCK = 0x800;
    public const int O_CLOEXEC = 0x80000;

    public const int F_GETFL = 3;
    public const int F_SETFL = 4;
    public const int F_DUPFD_CLOEXEC = 1030;

    public const int WNOHANG = 1;

    public const int SIGKILL = 9;
    public const int SIGTERM = 15;
    public const int SIGSTOP = 19;

    /// <summary>posix_spawnattr flag: reset the signals in the default set to SIG_DFL in the child.</summary>
    public const short POSIX_SPAWN_SETSIGDEF = 0x04;

    /// <summary>posix_spawnattr flag: set the child's signal mask.</summary>
    public const short POSIX_SPAWN_SETSIGMASK = 0x08;

    /// <summary>Bytes reserved for an opaque posix_spawn_file_actions_t (glibc: 80).</summary>
    public const int FileActionsSize = 256;

    /// <summary>Bytes reserved for an opaque posix_spawnattr_t (glibc: 336).</summary>
    public const int SpawnAttrSize = 1024;

    /// <summary>Bytes reserved for a sigset_t (glibc: 128).</summary>
    public const int SigSetSize = 256;

    [LibraryImport(Library, SetLastError = true)]
    public static partial int pipe2(int* fds, int flags);

    [LibraryImport(Library, SetLastError = true)]
    public static partial int fcntl(int fd, int cmd, int arg);

    [LibraryImport(Library, SetLastError = true)]
    public static partial nint read(int fd, byte* buf, nuint count);

    [LibraryImport(Library, SetLastError = true)]
    public static partial nint write(int fd, byte* buf, nuint count);

    [LibraryImport(Library, SetLastError = true)]
    public static partial int close(int fd);

    [LibraryImport(Library, SetLastError = true)]
    public static partial int kill(int pid, int sig);

    [LibraryImport(Library, SetLastError = true)]
    public static partial int waitpid(int pid, int* status, int options);

    /// <summary>Linux 5.3+, glibc 2.36+: a descriptor that becomes readable when the process exits.</summary>
    [LibraryImport(Library, SetLastError = true)]
    public static partial int pidfd_open(int pid, uint flags);

    [LibraryImport(Library)]
    public static partial int posix_spawn(int* pid, byte* path, void* fileActions, void* attr, byte** argv, byte** envp);

    [LibraryImport(Library)]
    public static partial int posix_spawn_file_actions_init(void* fileActions);

    [LibraryImport(Library)]
    public static partial int posix_spawn_file_actions_destroy(void* fileActions);

    [LibraryImport(Library)]
    public static partial int posix_spawn_file_actions_adddup2(void* fileActions, int fd, int newfd);

    [LibraryImport(Library)]
    public static partial int posix_spawn_file_actions_addopen(void* fileActions, int fd, byte* path, int oflag, int mode);

    /// <summary>glibc 2.29+.</summary>
    [LibraryImport(Library)]
    public static partial int posix_spawn_file_actions_addchdir_np(void* fileActions, byte* path);

    [LibraryImport(Library)]
    public static partial int posix_spawnattr_init(void* attr);

    [LibraryImport(Library)]
    public static partial int posix_spawnattr_destroy(void* attr);

    [LibraryImport(Library)]
    public static partial int posix_spawnattr_setflags(void* attr, short flags);

    [LibraryImport(Library)]
    public static partial int posix_spawnattr_setsigmask(void* attr, void* sigmask);

    [LibraryImport(Library)]
    public static partial int posix_spawnattr_setsigdefault(void* attr, void* sigdefault);

    [LibraryImport(Library)]
    public static partial int sigemptyset(void* set);

    [LibraryImport(Library)]
    public static partial int sigfillset(void* set);

    [LibraryImport(Library)]
    public static partial int sigdelset(void* set, int signo);

    /// <summary>True if the wait status says the child exited normally.</summary>
    public static bool WIfExited(int status) => (status & 0x7f) == 0;

    /// <summary>The exit code of a child that exited normally.</summary>
    public static int WExitStatus(int status) => (status >> 8) & 0xff;

    /// <summary>True if the wait status says a signal killed the child.</summary>
    public static bool WIfSignaled(int status) => (status & 0x7f) != 0 && (status & 0x7f) != 0x7f;

    /// <summary>The signal that killed the child.</summary>
    public static int WTermSig(int status) => status & 0x7f;
}
