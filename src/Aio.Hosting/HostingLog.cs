using Microsoft.Extensions.Logging;

namespace Aio.Hosting;

/// <summary>Log messages of the hosting integration; event ids 150–199 (the registry of ranges is in docs/loop.md, "Logging").</summary>
internal static partial class HostingLog
{
    [LoggerMessage(EventId = 150, Level = LogLevel.Information, Message = "Host is stopping: cancelling the main task of {Loop}")]
    public static partial void Stopping(ILogger logger, string loop);

    [LoggerMessage(EventId = 151, Level = LogLevel.Warning,
        Message = "The main task of {Loop} did not finish within the host's shutdown timeout; cancelling every task")]
    public static partial void HardCancel(ILogger logger, string loop);

    [LoggerMessage(EventId = 152, Level = LogLevel.Error,
        Message = "The loop did not stop within {Grace} after the hard cancellation; abandoning its thread")]
    public static partial void Abandoned(ILogger logger, TimeSpan grace);

    [LoggerMessage(EventId = 153, Level = LogLevel.Error, Message = "The main coroutine of the Aio loop failed")]
    public static partial void MainFailed(ILogger logger, Exception exception);
}
