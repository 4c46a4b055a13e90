using System.Globalization;
using Microsoft.Extensions.Logging;

namespace Aio.Cli;

/// <summary>
/// The tool's log: one line per entry on standard error, <c>aio: warn [301] message</c>, from <see cref="MinimumLevel"/>
/// up (warnings by default, everything with <c>--verbose</c>). Thread-safe (the loop's executor threads may log).
/// </summary>
internal sealed class ErrorWriterLogger(TextWriter writer, LogLevel minimumLevel) : ILogger
{
    private readonly Lock _lock = new();

    public LogLevel MinimumLevel { get; } = minimumLevel;

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel >= MinimumLevel && logLevel != LogLevel.None;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (!IsEnabled(logLevel))
        {
            return;
        }
        string level = logLevel switch
        {
            LogLevel.Trace => "trace",
            LogLevel.Debug => "debug",
            LogLevel.Information => "info",
            LogLevel.Warning => "warn",
            LogLevel.Error => "error",
            _ => "crit",
        };
        string line = string.Create(CultureInfo.InvariantCulture, $"aio: {level} [{eventId.Id}] {formatter(state, exception)}");
        if (exception is not null && logLevel >= LogLevel.Error)
        {
            line += Environment.NewLine + exception;
        }
        lock (_lock)
        {
            writer.WriteLine(line);
        }
    }
}
