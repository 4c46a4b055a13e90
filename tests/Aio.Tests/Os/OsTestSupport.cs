using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;

namespace Aio.Tests.Os;

internal static class Posix
{
    public const int SIGINT = 2;
    public const int SIGKILL = 9;
    public const int SIGUSR1 = 10;
    public const int SIGUSR2 = 12;
    public const int SIGTERM = 15;
    public const int ESRCH = 3;

    [DllImport("libc", SetLastError = true)]
    public static extern int kill(int pid, int sig);

    /// <summary>True while a process (or an unreaped zombie) with this PID exists.</summary>
    public static bool Exists(int pid) => kill(pid, 0) == 0 || Marshal.GetLastPInvokeError() != ESRCH;

    /// <summary>Sends <paramref name="signal"/> to this process.</summary>
    public static void RaiseToSelf(int signal) => Assert.Equal(0, kill(Environment.ProcessId, signal));
}
