using Microsoft.Extensions.Logging;

namespace Aio.Internal;

/// <summary>The loop's log messages, source-generated, with stable event ids in 1–99 (the registry of ranges is in docs/loop.md, "Logging").</summary>
internal static partial class LoopLog
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Error, Message = "{Message}")]
    public static partial void UnhandledError(ILogger logger, string message, Exception? exception);

    [LoggerMessage(EventId = 2, Level = LogLevel.Error, Message = "Unhandled error in the exception handler while handling: {Message}")]
    public static partial void HandlerFailed(ILogger logger, string message, Exception exception);

    [LoggerMessage(EventId = 3, Level = LogLevel.Warning, Message = "Executing {Callback} took {Seconds:0.000} seconds")]
    public static partial void SlowCallback(ILogger logger, string callback, double seconds);

    [LoggerMessage(EventId = 4, Level = LogLevel.Warning, Message = "Loop closed with {Count} pending task(s): {Tasks}")]
    public static partial void PendingAtClose(ILogger logger, int count, string tasks);

    [LoggerMessage(EventId = 5, Level = LogLevel.Warning, Message = "{Task} was in a foreign await (a Task or API outside Aio, such as Task.Delay or HttpClient) " +
        "when a cancellation came ({Reason}); Aio cannot interrupt it, so the body runs on until that await ends, and a FailAfter, MoveOnAfter or WaitFor " +
        "around it then reports a timeout whatever the body returns. Pass Asyncio.CurrentToken to the foreign API, or await it through Asyncio.Cancellable(...).")]
    public static partial void CancelInForeignAwait(ILogger logger, string task, string reason);
}
