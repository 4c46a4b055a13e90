using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;

namespace Aio.Tests.Os;

/// <summary>An <see cref="ILogger"/> that records entries (thread-safe) and lets a test wait for one.</summary>
internal sealed class ListLogger : ILogger
{
    private readonly object _lock = new();
    private readonly List<(EventId Id, LogLevel Level, string Message)> _entries = new();

    public IReadOnlyList<(EventId Id, LogLevel Level, string Message)> Entries
    {
        get
        {
            lock (_lock)
            {
                return _entries.ToList();
            }
        }
    }

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        lock (_lock)
        {
            _entries.Add((eventId, logLevel, formatter(state, exception)));
            Monitor.PulseAll(_lock);
        }
    }

    /// <summary>Blocks (bounded) until an entry with <paramref name="eventId"/> is logged (after <paramref name="skip"/> earlier ones); returns it or null.</summary>
    public string? WaitFor(int eventId, TimeSpan timeout, int skip = 0)
    {
        DateTime end = DateTime.UtcNow + timeout;
        lock (_lock)
        {
            while (true)
            {
                string? found = _entries.Where(e => e.Id.Id == eventId).Select(e => e.Message).Skip(skip).FirstOrDefault();
                if (found is not null)
                {
                    return found;
                }
                TimeSpan left = end - DateTime.UtcNow;
                if (left <= TimeSpan.Zero || !Monitor.Wait(_lock, left))
                {
                    return _entries.Where(e => e.Id.Id == eventId).Select(e => e.Message).Skip(skip).FirstOrDefault();
                }
            }
        }
    }

    public bool Has(int eventId) => Entries.Any(e => e.Id.Id == eventId);
}

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
