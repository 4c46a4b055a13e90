namespace Aio.Http;

/// <summary>
/// The limits a server enforces on every connection, with Kestrel's defaults. Each is checked as bytes arrive
/// (a request line dribbled one byte at a time is rejected as soon as it passes its limit, not at its end), and
/// each is answered with its status and the connection closed.
/// </summary>
/// <remarks>Set them before the server starts; a running server reads them as it goes.</remarks>
public sealed class HttpLimits
{
    /// <summary>Longest request line in bytes (method, target, version; without the CRLF). Over it: 414. Defaults to 8 KiB.</summary>
    public int MaxRequestLineSize { get; set; } = 8 * 1024;

    /// <summary>
    /// Largest header section in bytes (every field line with its CRLF, and the final CRLF). Over it: 431. Defaults to
    /// 32 KiB. Also bounds the trailer section of a chunked body. A connection's receive buffer never grows beyond
    /// this plus <see cref="MaxRequestLineSize"/>: unlimited buffering is a risk with untrusted clients.
    /// </summary>
    public int MaxRequestHeadersTotalSize { get; set; } = 32 * 1024;

    /// <summary>Most header fields in one request (and trailer fields in one chunked body). Over it: 431. Defaults to 100.</summary>
    public int MaxRequestHeaderCount { get; set; } = 100;

    /// <summary>
    /// Largest request body in bytes; null for none. A declared Content-Length over it is answered 413 before the
    /// handler runs (and before any 100 Continue); a chunked body fails with 413 once it passes it. A handler can
    /// change it for its request with <see cref="Request.MaxBodySize"/>. Defaults to 30,000,000 bytes.
    /// </summary>
    public long? MaxRequestBodySize { get; set; } = 30_000_000;

    /// <summary>Longest chunk extension (the bytes after a chunk size up to its CRLF). Over it: 400. Defaults to 4 KiB.</summary>
    public int MaxChunkExtensionSize { get; set; } = 4 * 1024;

    /// <summary>Seconds a client has to send a whole request head once its first byte arrived. Over it: 408. Defaults to 30.</summary>
    public double RequestHeadersTimeout { get; set; } = 30;

    /// <summary>Seconds an idle keep-alive connection (no byte of a next request) stays open. Defaults to 130.</summary>
    public double KeepAliveTimeout { get; set; } = 130;

    /// <summary>
    /// Slowest request-body rate in bytes per second, measured while a handler waits for body bytes, after
    /// <see cref="MinRequestBodyDataRateGracePeriod"/>; slower: 408 and the connection closed. Null for none.
    /// Defaults to 240.
    /// </summary>
    public double? MinRequestBodyDataRate { get; set; } = 240;

    /// <summary>Seconds of body reading before <see cref="MinRequestBodyDataRate"/> applies. Defaults to 5.</summary>
    public double MinRequestBodyDataRateGracePeriod { get; set; } = 5;

    /// <summary>Most connections open at once; a connection over it is closed at once. Null for none (the default).</summary>
    public int? MaxConcurrentConnections { get; set; }

    /// <summary>
    /// Most bytes of an unread request body the server reads and discards after the response to keep the
    /// connection alive; a larger rest closes the connection instead. Defaults to 64 KiB.
    /// </summary>
    public int MaxDrainSize { get; set; } = 64 * 1024;

    /// <summary>The largest head the receive buffer must hold.</summary>
    internal int MaxHeadSize => MaxRequestLineSize + MaxRequestHeadersTotalSize + 2;

    /// <inheritdoc/>
    public override string ToString() =>
        $"<HttpLimits line={MaxRequestLineSize} headers={MaxRequestHeadersTotalSize}/{MaxRequestHeaderCount} body={MaxRequestBodySize?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none"}>";
}
