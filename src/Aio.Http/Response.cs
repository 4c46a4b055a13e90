using System.Diagnostics;
using System.Text;
using System.Text.Json;

namespace Aio.Http;

/// <summary>
/// What a handler returns: a status, header fields and a body. Make one with the factories (<see cref="Text"/>,
/// <see cref="Json{T}"/>, <see cref="Bytes"/>, <see cref="Redirect"/>, <see cref="Status"/>, <see cref="Stream"/>);
/// middlewares may change <see cref="Headers"/> on the way out.
/// </summary>
/// <remarks>
/// The server writes Date, Content-Length (or Transfer-Encoding: chunked for a streamed body of unknown length) and
/// Connection itself. A response to HEAD carries the headers of the body, not the body.
/// </remarks>
[DebuggerDisplay("{ToString(),nq}")]
public sealed class Response
{
    internal const string TextPlain = "text/plain; charset=utf-8";
    internal const string ApplicationJson = "application/json; charset=utf-8";
    internal const string TextHtml = "text/html; charset=utf-8";
    internal const string OctetStream = "application/octet-stream";

    private ResponseHeaders? _headers;
    private int _status;

    internal enum BodyKind : byte
    {
        Empty,
        Text,
        Bytes,
        Stream,
        Upgrade,
        File,
    }

    private Response(int status)
    {
        StatusCode = status;
    }

    /// <summary>The status code (100-599).</summary>
    /// <exception cref="ArgumentOutOfRangeException">Set outside 100-599.</exception>
    public int StatusCode
    {
        get => _status;
        set
        {
            if (value < 100 || value > 599)
            {
                throw new ArgumentOutOfRangeException(nameof(value), value, "An HTTP status code is between 100 and 599.");
            }
            _status = value;
        }
    }

    /// <summary>The Content-Type field; null for none.</summary>
    public string? ContentType { get; set; }

    /// <summary>The other header fields (created on first use).</summary>
    public ResponseHeaders Headers => _headers ??= new ResponseHeaders();

    internal ResponseHeaders? HeadersOrNull => _headers;

    internal BodyKind Kind { get; private set; }

    internal string? TextBody { get; private set; }

    internal ReadOnlyMemory<byte> BytesBody { get; private set; }

    internal Func<ResponseBodyWriter, Task>? StreamBody { get; private set; }

    internal long? StreamLength { get; private set; }

    internal Func<Internal.UpgradedConnection, Task>? UpgradeBody { get; private set; }

    internal string? FilePath { get; private set; }

    /// <summary>
    /// The hook for protocol upgrades (internal until the WebSocket layer makes it public): a 101 Switching Protocols
    /// response, after which <paramref name="takeOver"/> owns the connection (see <see cref="Internal.UpgradedConnection"/>).
    /// </summary>
    internal static Response Upgrade(string protocol, Func<Internal.UpgradedConnection, Task> takeOver)
    {
        var r = new Response(101) { Kind = BodyKind.Upgrade, UpgradeBody = takeOver };
        r.Headers["Upgrade"] = protocol;
        r.Headers["Connection"] = "Upgrade";
        return r;
    }

    /// <summary>
    /// Accepts a WebSocket (aiohttp's <c>WebSocketResponse</c>): validates the opening handshake of
    /// <paramref name="request"/> and, when it is valid, answers 101 Switching Protocols and runs
    /// <paramref name="handler"/> with the <see cref="AioWebSocket"/> in the request's task and cancel scope. An invalid
    /// handshake gets its error response instead: 405 (not GET), 400 (HTTP/1.0, no Upgrade/Connection token, a bad
    /// Sec-WebSocket-Key), 426 with <c>Sec-WebSocket-Version: 13</c>, 403 (an origin outside
    /// <see cref="AioWebSocketOptions.AllowedOrigins"/>). When the handler returns, the WebSocket is closed (1000) if it
    /// is still open; a graceful shutdown of the server closes it with 1001 first (the handler's receive sees the close).
    /// </summary>
    /// <param name="request">The request that asks for the upgrade.</param>
    /// <param name="handler">Talks over the WebSocket.</param>
    /// <param name="options">Size limit, heartbeat, timeouts, sub-protocols, allowed origins.</param>
    public static Response WebSocket(Request request, Func<AioWebSocket, Task> handler, AioWebSocketOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(handler);
        options ??= AioWebSocketOptions.Default;
        if (Internal.WebSocketHandshake.Validate(request, options, out string accept, out string? subProtocol) is Response error)
        {
            return error;
        }
        Response r = Upgrade("websocket", up => Internal.WebSocketSession.RunAsync(request, up, options, subProtocol, handler));
        r.Headers["Sec-WebSocket-Accept"] = accept;
        if (subProtocol is not null)
        {
            r.Headers["Sec-WebSocket-Protocol"] = subProtocol;
        }
        return r;
    }

    /// <summary>
    /// A stream of server-sent events (text/event-stream): <paramref name="producer"/> runs in the request's task and
    /// sends events through the <see cref="EventStreamWriter"/> until it returns. A comment line goes out after every
    /// <paramref name="heartbeat"/> without a write (default 15 s; zero for none). The client's disconnect cancels the
    /// producer; a graceful shutdown stops it and ends the stream cleanly. The response carries
    /// <c>Cache-Control: no-cache</c> and <c>X-Accel-Buffering: no</c> so nothing on the way holds events back.
    /// </summary>
    public static Response EventStream(Request request, Func<EventStreamWriter, Task> producer, TimeSpan? heartbeat = null)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(producer);
        double interval = (heartbeat ?? TimeSpan.FromSeconds(15)).TotalSeconds;
        string? lastEventId = request.Headers["Last-Event-ID"];
        Response r = Stream(writer => new EventStreamWriter(writer, lastEventId).RunAsync(producer, interval, request.Connection), "text/event-stream; charset=utf-8");
        r.Headers["Cache-Control"] = "no-cache";
        r.Headers["X-Accel-Buffering"] = "no";
        return r;
    }

    /// <summary>A UTF-8 text response (text/plain unless <paramref name="contentType"/> says otherwise).</summary>
    public static Response Text(string text, int status = 200, string contentType = TextPlain)
    {
        ArgumentNullException.ThrowIfNull(text);
        return new Response(status) { Kind = BodyKind.Text, TextBody = text, ContentType = contentType };
    }

    /// <summary>An HTML response (text/html, UTF-8).</summary>
    public static Response Html(string html, int status = 200) => Text(html, status, TextHtml);

    /// <summary>A response whose body is <paramref name="body"/> (not copied: do not change it afterwards).</summary>
    public static Response Bytes(ReadOnlyMemory<byte> body, string contentType = OctetStream, int status = 200) =>
        new(status) { Kind = BodyKind.Bytes, BytesBody = body, ContentType = contentType };

    /// <summary>A JSON response: <paramref name="value"/> serialized with System.Text.Json (web defaults: camelCase).</summary>
    public static Response Json<T>(T value, int status = 200, JsonSerializerOptions? options = null) =>
        new(status) { Kind = BodyKind.Bytes, BytesBody = JsonSerializer.SerializeToUtf8Bytes(value, options ?? JsonSerializerOptions.Web), ContentType = ApplicationJson };

    /// <summary>A redirect to <paramref name="location"/>: 302 Found, or 308 Permanent Redirect when <paramref name="permanent"/>.</summary>
    public static Response Redirect(string location, bool permanent = false)
    {
        ArgumentNullException.ThrowIfNull(location);
        var r = new Response(permanent ? 308 : 302);
        r.Headers["Location"] = location;
        return r;
    }

    /// <summary>A response with a status and no body (204 No Content, 202 Accepted, ...).</summary>
    public static Response Status(int status) => new(status);

    /// <summary>
    /// A streamed response: after the head is sent, <paramref name="write"/> runs (in the request's task and cancel
    /// scope) and writes the body through the <see cref="ResponseBodyWriter"/>, whose writes wait while the client does
    /// not read (back-pressure). Without <paramref name="contentLength"/> the body is sent chunked (HTTP/1.1) or ends
    /// with the connection (HTTP/1.0).
    /// </summary>
    public static Response Stream(Func<ResponseBodyWriter, Task> write, string contentType = OctetStream, int status = 200, long? contentLength = null)
    {
        ArgumentNullException.ThrowIfNull(write);
        return new Response(status) { Kind = BodyKind.Stream, StreamBody = write, ContentType = contentType, StreamLength = contentLength };
    }

    /// <summary>
    /// The file at <paramref name="path"/> (aiohttp's <c>FileResponse</c>), answered when the response is written, with the
    /// same rules as <see cref="Router.Static"/>: ETag and Last-Modified, conditional requests (304, 412), a byte range
    /// (206, 416), HEAD, sendfile(2) on a plain socket. A file that cannot be opened then is answered 404.
    /// </summary>
    /// <param name="path">The file; the handler is trusted with it (no root check: never build it from the request unchecked).</param>
    /// <param name="contentType">The content type; null picks it from the extension (text types with charset=utf-8).</param>
    /// <param name="cacheControl">The Cache-Control field; null for none.</param>
    public static Response File(string path, string? contentType = null, string? cacheControl = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var r = new Response(200) { Kind = BodyKind.File, FilePath = Path.GetFullPath(path), ContentType = contentType ?? Internal.ContentTypes.For(path, null) };
        if (cacheControl is not null)
        {
            r.Headers["Cache-Control"] = cacheControl;
        }
        return r;
    }

    /// <summary>Turns a <see cref="File"/> response into its answer for <paramref name="request"/> (the other headers set on it are kept).</summary>
    internal Response ResolveFile(Request request)
    {
        var target = new Internal.FileResponder.FileTarget(FilePath!, ContentType ?? OctetStream, null, null, null, false);
        Response answer = Internal.FileResponder.Serve(request, target);
        if (_headers is not null)
        {
            foreach (KeyValuePair<string, string> f in _headers.Fields)
            {
                if (!answer.Headers.Contains(f.Key))
                {
                    answer.Headers.Add(f.Key, f.Value);
                }
            }
        }
        return answer;
    }

    /// <summary>Sets a cookie (appends a Set-Cookie field).</summary>
    /// <param name="name">Cookie name.</param>
    /// <param name="value">Cookie value (not encoded: pass a value that is valid in a cookie).</param>
    /// <param name="path">Path attribute; null for none.</param>
    /// <param name="maxAge">Max-Age in seconds; null for a session cookie.</param>
    /// <param name="httpOnly">HttpOnly attribute.</param>
    /// <param name="secure">Secure attribute.</param>
    /// <param name="sameSite">SameSite attribute (Lax, Strict, None); null for none.</param>
    public Response SetCookie(string name, string value, string? path = "/", long? maxAge = null, bool httpOnly = true, bool secure = false, string? sameSite = "Lax")
    {
        var sb = new StringBuilder().Append(name).Append('=').Append(value);
        if (path is not null)
        {
            sb.Append("; Path=").Append(path);
        }
        if (maxAge is long age)
        {
            sb.Append("; Max-Age=").Append(age.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
        if (httpOnly)
        {
            sb.Append("; HttpOnly");
        }
        if (secure)
        {
            sb.Append("; Secure");
        }
        if (sameSite is not null)
        {
            sb.Append("; SameSite=").Append(sameSite);
        }
        Headers.Add("Set-Cookie", sb.ToString());
        return this;
    }

    /// <inheritdoc/>
    public override string ToString() => $"<Response {StatusCode} {Kind}{(ContentType is null ? "" : " " + ContentType)}>";
}
