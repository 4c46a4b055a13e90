// ProcessSpawner: starts a child with posix_spawn and wires its standard streams.
//
// Why posix_spawn and not System.Diagnostics.Process: Process cannot send stderr to stdout, cannot give a
// child /dev/null, reports a signal death as 128+N (indistinguishable from exit(137)), and owns its pipes as
// streams on .NET's own I/O machinery. posix_spawn (glibc: clone(CLONE_VM|CLONE_VFORK) + exec, safe in a
// multithreaded process, exec failures reported back as an error number) gives us all of it in one call:
//   - pipes made with pipe2(O_CLOEXEC), the parent's ends switched to O_NONBLOCK for the reactor; every pipe
//     end is moved above 2 so a dup2 onto 0/1/2 always happens (dup2 onto itself would keep FD_CLOEXEC – a
//     trap when the parent runs with standard input closed);
//   - file actions dup2 the child's ends onto 0/1/2, open /dev/null, dup2 1 onto 2, and chdir;
//   - the child gets an empty signal mask and default dispositions for every signal (the runtime ignores
//     SIGPIPE, and an ignored disposition would otherwise survive exec);
//   - the program is looked up on the child's PATH here, so a PATH in ProcessOptions.Environment is honoured.
// Every descriptor the parent keeps is close-on-exec, so concurrent spawns never leak into each other.
using System.Collections;
using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using Aio.Os.Interop;
using Microsoft.Win32.SafeHandles;

namespace Aio.Os.Internal;

[SupportedOSPlatform("linux")]
internal static unsafe class ProcessSpawner
{
    internal readonly record struct Spawned(int Pid, SafeFileHandle? Stdin, SafeFileHandle? Stdout, SafeFileHandle? Stderr);

    public static Spawned Spawn(string program, IReadOnlyList<string> args, ProcessOptions options)
    {
        if (options.Stdin == ProcessStdio.Stdout)
        {
            OsThrowHelper.StderrToStdoutOnlyForStderr(nameof(ProcessOptions.Stdin));
        }
        if (options.Stdout == ProcessStdio.Stdout)
        {
            OsThrowHelper.StderrToStdoutOnlyForStderr(nameof(ProcessOptions.Stdout));
        }
        Dictionary<string, string> env = BuildEnvironment(options.Environment);
        string path = Resolve(program, env.GetValueOrDefault("PATH"));

        // [parent, child] per piped stream; -1 where none.
        int stdinParent = -1, stdinChild = -1, stdoutParent = -1, stdoutChild = -1, stderrParent = -1, stderrChild = -1;
        var native = new List<nint>();
        void* actions = NativeMemory.AllocZeroed(ProcessLibC.FileActionsSize);
        void* attr = NativeMemory.AllocZeroed(ProcessLibC.SpawnAttrSize);
        void* sigmask = NativeMemory.AllocZeroed(ProcessLibC.SigSetSize);
        void* sigdefault = NativeMemory.AllocZeroed(ProcessLibC.SigSetSize);
        bool actionsInit = false, attrInit = false, ok = false;
        try
        {
            if (options.Stdin == ProcessStdio.Pipe)
            {
                (stdinChild, stdinParent) = MakePipe(); // child reads [0], parent writes [1]
            }
            if (options.Stdout == ProcessStdio.Pipe)
            {
                (stdoutParent, stdoutChild) = MakePipe();
            }
            if (options.Stderr == ProcessStdio.Pipe)
            {
                (stderrParent, stderrChild) = MakePipe();
            }

            Check(ProcessLibC.posix_spawn_file_actions_init(actions), "posix_spawn_file_actions_init");
            actionsInit = true;
            byte* devNull = Utf8(native, "/dev/null");
            AddStream(actions, options.Stdin, stdinChild, 0, devNull, ProcessLibC.O_RDONLY);
            AddStream(actions, options.Stdout, stdoutChild, 1, devNull, ProcessLibC.O_WRONLY);
            if (options.Stderr == ProcessStdio.Stdout)
            {
                Check(ProcessLibC.posix_spawn_file_actions_adddup2(actions, 1, 2), "posix_spawn_file_actions_adddup2");
            }
            else
            {
                AddStream(actions, options.Stderr, stderrChild, 2, devNull, ProcessLibC.O_WRONLY);
            }
            if (options.WorkingDirectory is { } cwd)
            {
                Check(ProcessLibC.posix_spawn_file_actions_addchdir_np(actions, Utf8(native, cwd)), "posix_spawn_file_actions_addchdir_np");
            }

            Check(ProcessLibC.posix_spawnattr_init(attr), "posix_spawnattr_init");
            attrInit = true;
            _ = ProcessLibC.sigemptyset(sigmask);
            _ = ProcessLibC.sigfillset(sigdefault);
            _ = ProcessLibC.sigdelset(sigdefault, ProcessLibC.SIGKILL);
            _ = ProcessLibC.sigdelset(sigdefault, ProcessLibC.SIGSTOP);
            Check(ProcessLibC.posix_spawnattr_setsigmask(attr, sigmask), "posix_spawnattr_setsigmask");
            Check(ProcessLibC.posix_spawnattr_setsigdefault(attr, sigdefault), "posix_spawnattr_setsigdefault");
            Check(ProcessLibC.posix_spawnattr_setflags(attr, ProcessLibC.POSIX_SPAWN_SETSIGMASK | ProcessLibC.POSIX_SPAWN_SETSIGDEF),
                "posix_spawnattr_setflags");

            byte** argv = Utf8Array(native, [program, .. args]);
            byte** envp = Utf8Array(native, env.Select(kv => $"{kv.Key}={kv.Value}").ToArray());
            int pid;
            int rc = ProcessLibC.posix_spawn(&pid, Utf8(native, path), actions, attr, argv, envp);
            if (rc != 0)
            {
                if (options.WorkingDirectory is { } dir && !Directory.Exists(dir))
                {
                    throw new DirectoryNotFoundException(
                        $"Cannot start '{program}': the working directory '{dir}' does not exist. Create it or fix ProcessOptions.WorkingDirectory.");
                }
                OsThrowHelper.SpawnFailed(program, rc);
            }
            ok = true;
            return new Spawned(pid, Own(stdinParent), Own(stdoutParent), Own(stderrParent));
        }
        finally
        {
            CloseIfValid(stdinChild);
            CloseIfValid(stdoutChild);
            CloseIfValid(stderrChild);
            if (!ok)
            {
                CloseIfValid(stdinParent);
                CloseIfValid(stdoutParent);
                CloseIfValid(stderrParent);
            }
            if (actionsInit)
            {
                _ = ProcessLibC.posix_spawn_file_actions_destroy(actions);
            }
            if (attrInit)
            {
                _ = ProcessLibC.posix_spawnattr_destroy(attr);
            }
            NativeMemory.Free(actions);
            NativeMemory.Free(attr);
            NativeMemory.Free(sigmask);
            NativeMemory.Free(sigdefault);
            foreach (nint p in native)
            {
                NativeMemory.Free((void*)p);
            }
        }
    }

    private static void AddStream(void* actions, ProcessStdio mode, int childFd, int target, byte* devNull, int openFlags)
    {
        switch (mode)
        {
            case ProcessStdio.Pipe:
                Check(ProcessLibC.posix_spawn_file_actions_adddup2(actions, childFd, target), "posix_spawn_file_actions_adddup2");
                break;
            case ProcessStdio.Null:
                Check(ProcessLibC.posix_spawn_file_actions_addopen(actions, target, devNull, openFlags, 0), "posix_spawn_file_actions_addopen");
                break;
        }
    }

    /// <summary>A close-on-exec pipe as (read end, write end), both above 2; the caller decides which end is the parent's.</summary>
    private static (int Read, int Write) MakePipe()
    {
        int* fds = stackalloc int[2];
        if (ProcessLibC.pipe2(fds, ProcessLibC.O_CLOEXEC) != 0)
        {
            OsThrowHelper.SystemCall("pipe2", Marshal.GetLastPInvokeError(), "creating a pipe for a subprocess");
        }
        return (AboveStdio(fds[0]), AboveStdio(fds[1]));
    }

    private static int AboveStdio(int fd)
    {
        if (fd > 2)
        {
            return fd;
        }
        int moved = ProcessLibC.fcntl(fd, ProcessLibC.F_DUPFD_CLOEXEC, 3);
        int errno = Marshal.GetLastPInvokeError();
        ProcessLibC.close(fd);
        if (moved < 0)
        {
            OsThrowHelper.SystemCall("fcntl(F_DUPFD_CLOEXEC)", errno, "moving a pipe above the standard descriptors");
        }
        return moved;
    }

    /// <summary>The parent's end: non-blocking, owned by a SafeFileHandle; null for -1.</summary>
    private static SafeFileHandle? Own(int fd)
    {
        if (fd < 0)
        {
            return null;
        }
        int flags = ProcessLibC.fcntl(fd, ProcessLibC.F_GETFL, 0);
        if (flags < 0 || ProcessLibC.fcntl(fd, ProcessLibC.F_SETFL, flags | ProcessLibC.O_NONBLOCK) < 0)
        {
            OsThrowHelper.SystemCall("fcntl(F_SETFL, O_NONBLOCK)", Marshal.GetLastPInvokeError(), "making a subprocess pipe non-blocking");
        }
        return new SafeFileHandle(fd, ownsHandle: true);
    }

    private static void CloseIfValid(int fd)
    {
        if (fd >= 0)
        {
            ProcessLibC.close(fd);
        }
    }

    private static void Check(int rc, string call)
    {
        if (rc != 0)
        {
            OsThrowHelper.SystemCall(call, rc, "preparing to start a subprocess");
        }
    }

    internal static Dictionary<string, string> BuildEnvironment(IReadOnlyDictionary<string, string?>? overrides)
    {
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (DictionaryEntry e in System.Environment.GetEnvironmentVariables())
        {
            env[(string)e.Key] = (string?)e.Value ?? "";
        }
        if (overrides is not null)
        {
            foreach (KeyValuePair<string, string?> kv in overrides)
            {
                if (kv.Value is null)
                {
                    env.Remove(kv.Key);
                }
                else
                {
                    env[kv.Key] = kv.Value;
                }
            }
        }
        return env;
    }

    /// <summary>The program as given if it contains a slash; otherwise the first executable of that name on <paramref name="path"/>.</summary>
    internal static string Resolve(string program, string? path)
    {
        if (program.Contains('/', StringComparison.Ordinal))
        {
            return program;
        }
        foreach (string dir in (path ?? "/usr/local/bin:/usr/bin:/bin").Split(':'))
        {
            string candidate = Path.Combine(dir.Length == 0 ? "." : dir, program);
            if (File.Exists(candidate) &&
                (File.GetUnixFileMode(candidate) & (UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute)) != 0)
            {
                return candidate;
            }
        }
        OsThrowHelper.ProgramNotFound(program, path);
        return null;
    }

    private static byte* Utf8(List<nint> native, string s)
    {
        int n = System.Text.Encoding.UTF8.GetByteCount(s);
        byte* p = (byte*)NativeMemory.Alloc((nuint)n + 1);
        native.Add((nint)p);
        int written = System.Text.Encoding.UTF8.GetBytes(s, new Span<byte>(p, n));
        p[written] = 0;
        return p;
    }

    private static byte** Utf8Array(List<nint> native, string[] items)
    {
        byte** array = (byte**)NativeMemory.Alloc((nuint)(items.Length + 1), (nuint)sizeof(byte*));
        native.Add((nint)array);
        for (int i = 0; i < items.Length; i++)
        {
            array[i] = Utf8(native, items[i]);
        }
        array[items.Length] = null;
        return array;
    }
}
