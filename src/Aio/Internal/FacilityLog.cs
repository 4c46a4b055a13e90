using Microsoft.Extensions.Logging;

namespace Aio.Internal;

/// <summary>
/// Log messages of the loop's facilities (the default executor, the watchdog, task dumps), source-generated,
/// with stable event ids in 100–129 (the registry of ranges is in docs/loop.md, "Logging").
/// </summary>
internal static partial class FacilityLog
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
}
