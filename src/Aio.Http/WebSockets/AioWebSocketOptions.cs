namespace Aio.Http;

/// <summary>The settings of an <see cref="AioWebSocket"/> (aiohttp's <c>ws_connect</c>/<c>WebSocketResponse</c> arguments), client or server side.</summary>
public sealed record AioWebSocketOptions
{
    internal static readonly AioWebSocketOptions Default = new();

    /// <summary>
    /// How often a PING is sent when nothing else is (aiohttp's <c>heartbeat</c>); null sends none. A peer that does not
    /// answer within <see cref="HeartbeatTimeout"/> is taken as gone: the WebSocket is aborted and the pending receive
    /// fails. Default null.
    /// </summary>
    public TimeSpan? Heartbeat { get; init; }

    /// <summary>How long to wait for the PONG of a heartbeat PING. Default: as long as <see cref="Heartbeat"/>.</summary>
    public TimeSpan? HeartbeatTimeout { get; init; }

    /// <summary>
    /// The largest message accepted, in bytes (aiohttp's <c>max_msg_size</c>); a larger one closes the WebSocket with
    /// 1009 (message too big) and fails the receive. 0 means no limit (a risk with untrusted peers). Default 4 MiB.
    /// </summary>
    public int MaxMessageSize { get; init; } = 4 * 1024 * 1024;

    /// <summary>How long the close handshake may take before the connection is dropped (aiohttp's <c>timeout</c>). Default 10 seconds.</summary>
    public TimeSpan CloseTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How long <see cref="AioWebSocket.ReceiveAsync"/> waits for a message (aiohttp's <c>receive_timeout</c>); past it
    /// the receive throws <see cref="TimeoutException"/> and the WebSocket is aborted. Null waits forever. Default null.
    /// </summary>
    public TimeSpan? ReceiveTimeout { get; init; }

    /// <summary>
    /// Server: the values of the <c>Origin</c> field allowed to open a WebSocket (compared case-insensitively, e.g.
    /// <c>https://example.com</c>); any other origin, or none, is answered 403. Null allows every origin. Default null.
    /// </summary>
    public IReadOnlyList<string>? AllowedOrigins { get; init; }

    /// <summary>
    /// Sub-protocols in order of preference: the client offers them; the server picks the first of its own that the
    /// client offered (none in common: no sub-protocol). Default none.
    /// </summary>
    public IReadOnlyList<string>? SubProtocols { get; init; }

    /// <summary>Extra headers of the opening handshake (client). Default none.</summary>
    public IEnumerable<KeyValuePair<string, string>>? Headers { get; init; }
}
