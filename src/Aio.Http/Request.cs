using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Aio.Http.Internal;

namespace Aio.Http;

/// <summary>
/// One HTTP request as its handler sees it: method, target, headers, route parameters, and the body to read.
/// </summary>
/// <remarks>
/// <para>The head stays in the connection's receive buffer: names and values become strings only when asked for.
/// A request is valid while its handler (and its streamed response) runs; using it afterwards throws.</para>
/// <para>The body is read on demand, with back-pressure (the server stops reading the socket while the handler does
/// not read); <c>Expect: 100-continue</c> is answered when the handler first reads. Belongs to its loop.</para>
/// </remarks>
[DebuggerDisplay("{ToString(),nq}")]
public sealed class Request
{
    private readonly HttpConnection _connection;
    private readonly RequestHead _head;
    private readonly int _generation;
    private string? _path;
    private string? _target;
    private MultiDict? _query;
    private RequestHeaders? _headers;
    private Dictionary<string, string>? _cookies;
    private Dictionary<string, object?>? _items;
    internal readonly List<KeyValuePair<string, string>> RouteValues = new(0);

    internal Request(HttpConnection connection, RequestHead head, int generation)
    {
        _connection = connection;
        _head = head;
        _generation = generation;
        Method = head.Method;
    }

    /// <summary>The method ("GET", "POST", ...), as sent (methods are case-sensitive).</summary>
    public string Method { get; }

    /// <summary>"HTTP/1.1" or "HTTP/1.0".</summary>
    public string Version => _head.Version == 11 ? "HTTP/1.1" : "HTTP/1.0";

    /// <summary>The path, percent-decoded ("*" for <c>OPTIONS *</c>).</summary>
    public string Path => _path ??= Aio.Http.Route.Decode(RawPathSpan);

    /// <summary>The request target exactly as sent (path and query, or the absolute-form URL).</summary>
    public string RawTarget => _target ??= HttpChars.Latin1(Head.Span(_head.TargetStart, _head.TargetLength));

    /// <summary>The query string without '?', as sent; empty if none.</summary>
    public string QueryString => Head.QueryStart < 0 ? "" : HttpChars.Latin1(_head.Span(_head.QueryStart, _head.QueryLength));

    /// <summary>The parsed query string.</summary>
    public MultiDict Query => _query ??= Head.QueryStart < 0 ? MultiDict.Empty : MultiDict.ParseUrlEncoded(_head.Span(_head.QueryStart, _head.QueryLength));

    /// <summary>The header fields (case-insensitive names, repeated fields kept in order).</summary>
    public RequestHeaders Headers => _headers ??= new RequestHeaders(this);

    /// <summary>The host the request is for: the absolute-form target's authority, else the Host field; empty if none.</summary>
    public string Host => Head.AuthorityStart < 0 ? "" : HttpChars.Latin1(_head.Span(_head.AuthorityStart, _head.AuthorityLength));

    /// <summary>"http" (TLS is not served yet).</summary>
    public string Scheme => Connection.Scheme;

    /// <summary>The declared Content-Length; null if none (no body, or chunked).</summary>
    public long? ContentLength => Head.ContentLength >= 0 ? _head.ContentLength : null;

    /// <summary>True if the body is sent chunked.</summary>
    public bool IsChunked => Head.Chunked;

    /// <summary>The Content-Type field, or null.</summary>
    public string? ContentType => Headers["Content-Type"];

    /// <summary>The cookies of the Cookie fields (the first value of a repeated name wins).</summary>
    public IReadOnlyDictionary<string, string> Cookies => _cookies ??= ParseCookies();

    /// <summary>Whether the request asks to open a WebSocket (its Upgrade field has the <c>websocket</c> token).</summary>
    public bool IsWebSocket => Internal.WebSocketHandshake.IsWebSocketRequest(this);

    /// <summary>The client's address (null for an in-memory test connection that has none).</summary>
    public EndPoint? RemoteAddress => Connection.RemoteAddress;

    /// <summary>The route that matched; null before routing or when none did.</summary>
    public Route? MatchedRoute { get; internal set; }

    /// <summary>The application serving the request.</summary>
    public Application Application => Connection.Core.Application;

    /// <summary>Per-request state for middlewares and handlers (created on first use).</summary>
    public IDictionary<string, object?> Items => _items ??= new Dictionary<string, object?>(StringComparer.Ordinal);

    /// <summary>
    /// Cancelled when the request is cut off: the client disconnected, or the server's shutdown grace period ended.
    /// For foreign APIs; Aio awaits in the handler are cancelled through the request's cancel scope anyway.
    /// </summary>
    public CancellationToken Aborted => Connection.RequestAborted(_generation);

    /// <summary>
    /// The largest body this request may have (null: no limit); defaults to the server's
    /// <see cref="HttpLimits.MaxRequestBodySize"/>. Set it before reading the body to allow a larger upload.
    /// </summary>
    public long? MaxBodySize
    {
        get => Connection.MaxBodySize;
        set => Connection.MaxBodySize = value;
    }

    /// <summary>The value of route parameter <paramref name="name"/> (decoded).</summary>
    /// <exception cref="KeyNotFoundException">The route has no such parameter.</exception>
    public string Route(string name)
    {
        foreach (KeyValuePair<string, string> kv in RouteValues)
        {
            if (kv.Key == name)
            {
                return kv.Value;
            }
        }
        throw new KeyNotFoundException($"The route {MatchedRoute?.Template ?? "(none)"} of {this} has no parameter '{name}'.");
    }

    /// <summary>Route parameter <paramref name="name"/> parsed as <typeparamref name="T"/> (int for <c>{id:int}</c>, ...).</summary>
    /// <exception cref="KeyNotFoundException">The route has no such parameter.</exception>
    /// <exception cref="HttpException">400: the value does not parse as <typeparamref name="T"/>.</exception>
    public T Route<T>(string name)
        where T : IParsable<T>
    {
        string s = Route(name);
        if (!T.TryParse(s, CultureInfo.InvariantCulture, out T? value))
        {
            throw new HttpException(400, $"The route parameter '{name}' is not a valid {typeof(T).Name}.");
        }
        return value;
    }

    /// <summary>
    /// Reads body bytes into <paramref name="buffer"/>; returns how many, 0 at the end of the body. Waits for the
    /// client when nothing is buffered (sending 100 Continue first if the client asked for it).
    /// </summary>
    /// <exception cref="HttpException">The body is malformed (400), too large (413) or too slow (408).</exception>
    /// <exception cref="CancelledError">The client disconnected (the request's scope is cancelled).</exception>
    public ValueTask<int> ReadAsync(Memory<byte> buffer) => Connection.ReadBodyAsync(buffer, _generation);

    /// <summary>Reads the whole body (at most <see cref="MaxBodySize"/> bytes).</summary>
    public async Task<byte[]> ReadBodyAsync()
    {
        long? declared = ContentLength;
        if (declared is long n && n <= Array.MaxLength)
        {
            var exact = new byte[n];
            int got = 0;
            while (got < exact.Length)
            {
                int r = await ReadAsync(exact.AsMemory(got));
                if (r == 0)
                {
                    break;
                }
                got += r;
            }
            return exact;
        }
        using var ms = new MemoryStream();
        var chunk = new byte[16 * 1024];
        while (true)
        {
            int r = await ReadAsync(chunk);
            if (r == 0)
            {
                return ms.ToArray();
            }
            ms.Write(chunk, 0, r);
        }
    }

    /// <summary>Reads the whole body as text (UTF-8 unless the Content-Type names another charset).</summary>
    public async Task<string> TextAsync()
    {
        byte[] body = await ReadBodyAsync();
        return BodyEncoding().GetString(body);
    }

    /// <summary>Reads the whole body as JSON (System.Text.Json, web defaults unless <paramref name="options"/>).</summary>
    /// <exception cref="HttpException">400: the body is not valid JSON for <typeparamref name="T"/>.</exception>
    public async Task<T?> JsonAsync<T>(JsonSerializerOptions? options = null)
    {
        byte[] body = await ReadBodyAsync();
        try
        {
            return JsonSerializer.Deserialize<T>(body, options ?? JsonSerializerOptions.Web);
        }
        catch (JsonException e)
        {
            throw new HttpException(400, $"The request body is not valid JSON: {e.Message}");
        }
    }

    /// <summary>
    /// Reads a form: an application/x-www-form-urlencoded body, or a multipart/form-data one (through ASP.NET Core's
    /// multipart reader) whose text fields are returned and whose file parts go to <see cref="Files"/>.
    /// </summary>
    /// <exception cref="HttpException">415: another Content-Type; 400: a malformed multipart body.</exception>
    public async Task<MultiDict> FormAsync()
    {
        string? type = ContentType;
        if (type is not null && type.StartsWith("application/x-www-form-urlencoded", StringComparison.OrdinalIgnoreCase))
        {
            byte[] body = await ReadBodyAsync();
            return MultiDict.ParseUrlEncoded(body);
        }
        if (type is not null && type.StartsWith("multipart/form-data", StringComparison.OrdinalIgnoreCase))
        {
            return await ReadMultipartAsync(type);
        }
        throw new HttpException(415, $"FormAsync reads application/x-www-form-urlencoded and multipart/form-data bodies; this one is '{type ?? "(no Content-Type)"}'.");
    }

    /// <summary>The file parts of a multipart/form-data body, once <see cref="FormAsync"/> read it; empty otherwise.</summary>
    public IReadOnlyList<FormFile> Files { get; private set; } = [];

    private const string MalformedMultipart = "Malformed multipart/form-data body: a part without a form-data Content-Disposition, a line over the limits, or a missing boundary.";

    private async Task<MultiDict> ReadMultipartAsync(string contentType)
    {
        if (!Microsoft.Net.Http.Headers.MediaTypeHeaderValue.TryParse(contentType, out Microsoft.Net.Http.Headers.MediaTypeHeaderValue? media) ||
            Microsoft.Net.Http.Headers.HeaderUtilities.RemoveQuotes(media.Boundary).Value is not { Length: > 0 and <= 70 } boundary)
        {
            throw new HttpException(400, "The multipart/form-data body has no valid boundary.");
        }
        var fields = new List<KeyValuePair<string, string>>();
        var files = new List<FormFile>();
        // The whole body first (FormFile holds its bytes anyway), then the reader over memory: the reader awaits with
        // ConfigureAwait(false), which would resume it on the thread pool after a read that had to wait for the client;
        // over a MemoryStream every await completes at once, on the loop.
        using var body = new MemoryStream(await ReadBodyAsync(), writable: false);
        var reader = new Microsoft.AspNetCore.WebUtilities.MultipartReader(boundary, body)
        {
            HeadersCountLimit = Connection.Core.Limits.MaxRequestHeaderCount,
            HeadersLengthLimit = Connection.Core.Limits.MaxRequestHeadersTotalSize,
        };
        try
        {
            while (await reader.ReadNextSectionAsync() is { } section)
            {
                if (!Microsoft.Net.Http.Headers.ContentDispositionHeaderValue.TryParse(section.ContentDisposition, out var disposition) ||
                    !disposition.DispositionType.Equals("form-data", StringComparison.OrdinalIgnoreCase))
                {
                    throw new HttpException(400, MalformedMultipart);
                }
                string name = Microsoft.Net.Http.Headers.HeaderUtilities.RemoveQuotes(disposition.Name).Value ?? "";
                using var content = new MemoryStream();
                await section.Body.CopyToAsync(content);
                string? fileName = Microsoft.Net.Http.Headers.HeaderUtilities.RemoveQuotes(disposition.FileNameStar.HasValue ? disposition.FileNameStar : disposition.FileName).Value;
                if (fileName is not null)
                {
                    files.Add(new FormFile(name, fileName, section.ContentType ?? "application/octet-stream", content.ToArray()));
                }
                else
                {
                    fields.Add(new(name, Encoding.UTF8.GetString(content.GetBuffer(), 0, (int)content.Length)));
                }
            }
        }
        catch (Exception e) when (e is InvalidDataException or IOException)
        {
            // One message whatever the reader's reason: its reason can depend on how the body arrived (its line
            // limits apply to its own buffering), and the answer must not.
            throw new HttpException(400, MalformedMultipart);
        }
        Files = files;
        return new MultiDict(fields, StringComparer.Ordinal);
    }

    /// <inheritdoc/>
    public override string ToString() =>
        _connection.IsCurrent(_generation) ? $"<Request {Method} {RawTarget} {Version}>" : $"<Request {Method} (finished)>";

    internal HttpConnection Connection
    {
        get
        {
            if (!_connection.IsCurrent(_generation))
            {
                HttpThrowHelper.RequestFinished(Method);
            }
            return _connection;
        }
    }

    internal RequestHead Head
    {
        get
        {
            _ = Connection;
            return _head;
        }
    }

    internal ReadOnlySpan<byte> RawPathSpan => Head.Span(_head.PathStart, _head.PathLength);

    private Encoding BodyEncoding()
    {
        string? type = ContentType;
        int i = type?.IndexOf("charset=", StringComparison.OrdinalIgnoreCase) ?? -1;
        if (i >= 0)
        {
            string name = type![(i + 8)..].Trim().Trim('"');
            int semi = name.IndexOf(';', StringComparison.Ordinal);
            if (semi >= 0)
            {
                name = name[..semi];
            }
            try
            {
                return Encoding.GetEncoding(name);
            }
            catch (ArgumentException)
            {
                throw new HttpException(415, $"The request body's charset '{name}' is not supported.");
            }
        }
        return Encoding.UTF8;
    }

    private Dictionary<string, string> ParseCookies()
    {
        var cookies = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string field in Headers.GetAll("Cookie"))
        {
            foreach (string part in field.Split(';'))
            {
                int eq = part.IndexOf('=', StringComparison.Ordinal);
                if (eq <= 0)
                {
                    continue;
                }
                string name = part[..eq].Trim();
                string value = part[(eq + 1)..].Trim().Trim('"');
                cookies.TryAdd(name, value);
            }
        }
        return cookies;
    }
}
