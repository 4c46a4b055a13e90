// ChildWatcher: learns that a child exited, reaps it, and tells its AioProcess – on the loop thread.
//
// On Linux 5.3+ a pidfd (pidfd_open) becomes readable when the process exits; it is registered with the loop's
// epoll poller like any descriptor, so no thread and no SIGCHLD handler is involved (.NET's runtime owns
// SIGCHLD; it only reaps the children System.Diagnostics.Process started). On readiness, waitpid(WNOHANG)
// reaps the child and yields its status. Where there is no pidfd or no readiness poller, a background thread
// blocks in waitpid(pid) and posts the status to the loop. Either way the child is reaped exactly once, by us,
// so its PID is never signalled after it could have been reused.
using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using Aio.Internal;
using Aio.Os.Interop;
using Aio.Polling;
using Microsoft.Win32.SafeHandles;

namespace Aio.Os.Internal;

[SupportedOSPlatform("linux")]
internal sealed class ChildWatcher : IIoHandler
{
    private readonly EventLoop _loop;
    private readonly int _pid;
    private readonly Action<int> _onExit;        // the wait status; loop thread
    private SafeFileHandle? _pidfd;              // registered with the poller while watching; null otherwise

    private ChildWatcher(EventLoop loop, int pid, Action<int> onExit)
    {
        _loop = loop;
        _pid = pid;
        _onExit = onExit;
    }

    /// <summary>Starts watching <paramref name="pid"/>; <paramref name="onExit"/> gets the wait status on the loop thread.</summary>
    public static ChildWatcher Start(EventLoop loop, int pid, Action<int> onExit)
    {
        var watcher = new ChildWatcher(loop, pid, onExit);
        if (loop.Poller.SupportsReadiness && TryOpenPidfd(pid) is { } pidfd)
        {
            watcher._pidfd = pidfd;
            loop.Poller.Register(pidfd, IoEvents.Read, watcher);
        }
        else
        {
            var thread = new Thread(static s => ((ChildWatcher)s!).BlockingWait())
            {
                IsBackground = true,
                Name = $"Aio child watcher (pid {pid})",
            };
            thread.UnsafeStart(watcher);
        }
        return watcher;
    }

    private static SafeFileHandle? TryOpenPidfd(int pid)
    {
        try
        {
            int fd = ProcessLibC.pidfd_open(pid, 0);
            return fd < 0 ? null : new SafeFileHandle(fd, ownsHandle: true);
        }
        catch (EntryPointNotFoundException)
        {
            return null; // glibc older than 2.36: use the thread
        }
    }

    public void OnIoReady(IoEvents events)
    {
        int status = 0;
        int rc;
        unsafe
        {
            do
            {
                rc = ProcessLibC.waitpid(_pid, &status, ProcessLibC.WNOHANG);
            }
            while (rc < 0 && Marshal.GetLastPInvokeError() == ProcessLibC.EINTR);
        }
        if (rc == 0)
        {
            return; // not exited yet (a spurious wake-up)
        }
        StopWatching();
        _onExit(rc == _pid ? status : -1);
    }

    private void StopWatching()
    {
        if (_pidfd is { } fd)
        {
            _pidfd = null;
            if (!_loop.IsClosed)
            {
                _loop.Poller.Unregister(fd);
            }
            fd.Dispose();
        }
    }

    private unsafe void BlockingWait()
    {
        int status = 0;
        int rc;
        do
        {
            rc = ProcessLibC.waitpid(_pid, &status, 0);
        }
        while (rc < 0 && Marshal.GetLastPInvokeError() == ProcessLibC.EINTR);
        int result = rc == _pid ? status : -1;
        _loop.TryPostItem(new ReadyItem
        {
            Kind = ReadyKind.Action,
            Callback = (Action<object?>)(static s => { var (w, st) = ((ChildWatcher, int))s!; w._onExit(st); }),
            State = (this, result),
        });
    }

    /// <summary>The loop is closing with the child still running: kill it and reap it now, so it never lingers as a zombie.</summary>
    public void KillAndReapNow()
    {
        bool watchedByPidfd = _pidfd is not null;
        StopWatching();
        _ = ProcessLibC.kill(_pid, ProcessLibC.SIGKILL);
        if (watchedByPidfd)
        {
            int status;
            unsafe
            {
                while (ProcessLibC.waitpid(_pid, &status, 0) < 0 && Marshal.GetLastPInvokeError() == ProcessLibC.EINTR)
                {
                }
            }
        }
        // With the thread, the thread's own waitpid reaps it.
    }

    public override string ToString() => $"<ChildWatcher pid={_pid}>";
}
