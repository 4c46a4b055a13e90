using Microsoft.Extensions.Logging;

namespace Aio.Http.Tests.Server;

/// <summary>One ListLogger per category.</summary>
internal sealed class ListLoggerFactory : ILoggerFactory
{
    public Dictionary<string, ListLogger> Loggers { get; } = new();

    public ListLogger this[string category] => Loggers.TryGetValue(category, out ListLogger? l) ? l : Loggers[category] = new ListLogger();

    public ILogger CreateLogger(string categoryName) => this[categoryName];

    public void AddProvider(ILoggerProvider provider)
    {
    }

    public void Dispose()
    {
    }
}
