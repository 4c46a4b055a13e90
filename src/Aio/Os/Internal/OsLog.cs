using Microsoft.Extensions.Logging;

namespace Aio.Os.Internal;

/// <summary>
/// Log messages of the operating-system layer (subprocesses), source-generated,
/// with stable event ids in 130–149 (the registry of ranges is in docs/loop.md, "Logging").
/// </summary>
internal static partial class OsLog
{
    [LoggerMessage(EventId = 130, Level = LogLevel.Debug, Message = "Started subprocess {Pid}: {Program}")]
    public static partial void ProcessStarted(ILogger logger, int pid, string program);

    [LoggerMessage(EventId = 131, Level = LogLevel.Information,
        Message = "Subprocess {Pid} outlived its cancelled scope: sent SIGTERM, will send SIGKILL after {Grace} seconds")]
    public static partial void ProcessTerminating(ILogger logger, int pid, double grace);

    [LoggerMessage(EventId = 132, Level = LogLevel.Warning,
        Message = "Subprocess {Pid} ignored SIGTERM for {Grace} seconds: sent SIGKILL")]
    public static partial void ProcessKilled(ILogger logger, int pid, double grace);

    [LoggerMessage(EventId = 133, Level = LogLevel.Warning,
        Message = "Subprocess {Pid} was reaped by someone else; its exit status is unknown (return code 255)")]
    public static partial void ProcessReapedElsewhere(ILogger logger, int pid);
}
