using Microsoft.Extensions.Logging;

namespace Aio.TestUtilities;

/// <summary>An <see cref="ILogger"/> that records entries (thread-safe) and lets a test wait for one.</summary>
public sealed class ListLogger : ILogger
{
    private readonly object _lock = new();
    private readonly List<(EventId Id, LogLevel Level, string Message)> _entries = new();

    /// <summary>The entries so far, oldest first (a copy).</summary>
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

    /// <summary>No scopes: returns null.</summary>
    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    /// <summary>Every level is enabled.</summary>
    public bool IsEnabled(LogLevel logLevel) => true;

    /// <summary>Records the entry and wakes threads waiting in WaitFor.</summary>
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

    /// <summary>True when an entry with <paramref name="eventId"/> was logged.</summary>
    public bool Has(int eventId) => Entries.Any(e => e.Id.Id == eventId);
}
