using Microsoft.Extensions.Logging;

namespace Aio.Os.Internal;

/// <summary>
/// Log messages of the operating-system layer (executor, signals, subprocesses, watchdog), source-generated,
/// with stable event ids in 100–149 (the registry of ranges is in docs/loop.md, "Logging").
/// </summary>
internal static partial class OsLog
{
    [LoggerMessage(EventId = 100, Level = LogLevel.Warning,
        Message = "The default executor did not finish within {Timeout} seconds; {Count} thread(s) still running: {Items}")]
    public static partial void ExecutorShutdownTimedOut(ILogger logger, double timeout, int count, string items);

    [LoggerMessage(EventId = 110, Level = LogLevel.Warning,
        Message = "Event loop {Loop} blocked: {Item} has been running for {Seconds:0.000} seconds (since {Since:O}). Nothing else runs on the loop meanwhile: await instead of waiting (Task.Wait, .Result, Thread.Sleep), and move blocking work to Asyncio.ToThread.")]
    public static partial void LoopBlocked(ILogger logger, string loop, string item, double seconds, DateTimeOffset since);

    [LoggerMessage(EventId = 111, Level = LogLevel.Information,
        Message = "Event loop {Loop} unblocked: {Item} ran for {Seconds:0.000} seconds")]
    public static partial void LoopUnblocked(ILogger logger, string loop, string item, double seconds);

    [LoggerMessage(EventId = 120, Level = LogLevel.Information, Message = "Task dump of {Loop} ({Count} task(s)):{Dump}")]
    public static partial void TaskDump(ILogger logger, string loop, int count, string dump);

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
