using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Aio.Http.Internal;

/// <summary>The server's log: errors and protocol events under "Aio.Http.Server", the access log under "Aio.Http.Access".</summary>
internal sealed partial class HttpLog
{
    private readonly ILogger _logger;
    private readonly ILogger _access;

    public HttpLog(ILoggerFactory? factory)
    {
        factory ??= NullLoggerFactory.Instance;
        _logger = factory.CreateLogger("Aio.Http.Server");
        _access = factory.CreateLogger("Aio.Http.Access");
        AccessEnabled = _access.IsEnabled(LogLevel.Information);
    }

    public bool AccessEnabled { get; }

    public void BadRequest(int status, string reason, string remote) => LogBadRequest(_logger, status, reason, remote);

    public void RequestCutOff(string request, string reason) => LogRequestCutOff(_logger, request, reason);

    public void HandlerFailed(string request, Exception e) => LogHandlerFailed(_logger, request, e);

    public void ConnectionError(string request, Exception e) => LogConnectionError(_logger, request, e);

    public void Access(string method, string target, int status, string remote, long bytes, double durationMs) =>
        LogAccess(_access, remote, method, target, status, bytes, durationMs);

    public void ShutdownStarted(int connections, int requests, double grace) => LogShutdownStarted(_logger, connections, requests, grace);

    public void Listening(string endpoints) => LogListening(_logger, endpoints);

    public void WebSocketOpened(string peer, string subProtocol) => LogWebSocketOpened(_logger, peer, subProtocol);

    public void WebSocketFailed(string peer, string reason) => LogWebSocketFailed(_logger, peer, reason);

    public void WebSocketClosed(string peer, string status) => LogWebSocketClosed(_logger, peer, status);

    public void SlowWebSocket(string peer, string action) => LogSlowWebSocket(_logger, peer, action);

    public void EventStreamEnded(string request, string reason) => LogEventStreamEnded(_logger, request, reason);

    [LoggerMessage(EventId = 207, Level = LogLevel.Debug, Message = "WebSocket {Peer} opened (sub-protocol {SubProtocol}).")]
    private static partial void LogWebSocketOpened(ILogger logger, string peer, string subProtocol);

    [LoggerMessage(EventId = 208, Level = LogLevel.Information, Message = "WebSocket {Peer} ended: {Reason}")]
    private static partial void LogWebSocketFailed(ILogger logger, string peer, string reason);

    [LoggerMessage(EventId = 209, Level = LogLevel.Debug, Message = "WebSocket {Peer} closed (close status {Status}).")]
    private static partial void LogWebSocketClosed(ILogger logger, string peer, string status);

    [LoggerMessage(EventId = 210, Level = LogLevel.Warning, Message = "WebSocket {Peer} does not keep up with its broadcast group: {Action}.")]
    private static partial void LogSlowWebSocket(ILogger logger, string peer, string action);

    [LoggerMessage(EventId = 211, Level = LogLevel.Debug, Message = "The event stream of {Request} ended: {Reason}.")]
    private static partial void LogEventStreamEnded(ILogger logger, string request, string reason);

    public bool StaticEnabled => _logger.IsEnabled(LogLevel.Debug);

    public void FileSent(string request, long bytes, string mode) => LogFileSent(_logger, request, bytes, mode);

    public void StaticRefused(string target, string reason)
    {
        if (_logger.IsEnabled(LogLevel.Debug))
        {
            LogStaticRefused(_logger, target, reason);
        }
    }

    [LoggerMessage(EventId = 230, Level = LogLevel.Debug, Message = "Sent {Bytes} file bytes for {Request} by {Mode}.")]
    private static partial void LogFileSent(ILogger logger, string request, long bytes, string mode);

    [LoggerMessage(EventId = 231, Level = LogLevel.Debug, Message = "Static files: refused {Target} with 404: {Reason}.")]
    private static partial void LogStaticRefused(ILogger logger, string target, string reason);

    [LoggerMessage(EventId = 200, Level = LogLevel.Debug, Message = "Rejected a request with {Status}: {Reason} (client {Remote}); the connection is closed.")]
    private static partial void LogBadRequest(ILogger logger, int status, string reason, string remote);

    [LoggerMessage(EventId = 201, Level = LogLevel.Warning, Message = "Request {Request} was cut off before its response was complete: {Reason}.")]
    private static partial void LogRequestCutOff(ILogger logger, string request, string reason);

    [LoggerMessage(EventId = 202, Level = LogLevel.Error, Message = "The handler of {Request} failed; the client got a 500.")]
    private static partial void LogHandlerFailed(ILogger logger, string request, Exception exception);

    [LoggerMessage(EventId = 203, Level = LogLevel.Error, Message = "The connection serving {Request} failed and is closed.")]
    private static partial void LogConnectionError(ILogger logger, string request, Exception exception);

    // Bytes: the body bytes sent (0 for HEAD, 304, an upgrade); DurationMs: loop time from the request's head to its last byte written.
    [LoggerMessage(EventId = 204, Level = LogLevel.Information, Message = "{Remote} \"{Method} {Target}\" {Status} {Bytes} {DurationMs}ms")]
    private static partial void LogAccess(ILogger logger, string remote, string method, string target, int status, long bytes, double durationMs);

    [LoggerMessage(EventId = 205, Level = LogLevel.Information, Message = "Shutting down: {Connections} connection(s) open, {Requests} request(s) in flight, grace period {Grace} s.")]
    private static partial void LogShutdownStarted(ILogger logger, int connections, int requests, double grace);

    [LoggerMessage(EventId = 206, Level = LogLevel.Information, Message = "Listening on {Endpoints}.")]
    private static partial void LogListening(ILogger logger, string endpoints);
}
