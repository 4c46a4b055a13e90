// ClientResponse: a response whose body is read on the loop.
//
// Design note. The response holds the request's place in the session's limits (HostSlot) until its body has been read
// to the end or it is disposed, as aiohttp's holds its connection: so a per-host limit counts requests whose bodies are
// still being streamed. Every read goes through Timed (the ambient token, the total deadline, the idle limit); a read
// that fails for any reason other than a cancellation or a timeout means the server broke the response off, reported
// as HttpRequestException(ResponseEnded) naming the request and how much had arrived. Reading the body to the end, or
// failing, releases everything at once; dispose is then a no-op.
using System.Buffers;
using System.Diagnostics;
using System.Net;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Aio.Http.Client.Internal;

namespace Aio.Http;

/// <summary>
/// The response to a <see cref="ClientSession"/> request (aiohttp's <c>ClientResponse</c>): status and headers at once,
/// the body read on demand — whole (<see cref="TextAsync"/>, <see cref="ReadAllBytesAsync"/>, <see cref="JsonAsync{T}"/>) or
/// streamed (<see cref="ReadAsync"/>, <see cref="ReadChunksAsync"/>, <see cref="ReadLinesAsync"/>, <see cref="CopyToAsync"/>).
/// Dispose it (<c>await using</c>) unless the body is read to the end: until then it holds its place in the session's
/// connection limits.
/// </summary>
/// <remarks>A response belongs to its session's loop: read it from that loop's tasks only.</remarks>
[DebuggerDisplay("{ToString(),nq}")]
public sealed class ClientResponse : IAsyncDisposable
{
    private readonly ClientSession? _session;
    private readonly HttpResponseMessage? _message;  // null for a redirect kept in History (already released)
    private readonly double _started;                // loop time of the call
    private readonly double? _totalDeadline;         // absolute loop time, null: none
    private readonly TimeSpan? _total;               // for messages
    private readonly TimeSpan? _read;                // idle limit between chunks
    private HostSlot? _slot;                         // the place in the limits; null once released
    private Stream? _body;                           // the content stream, opened on the first read
    private bool _finished;                          // body read to its end, failed, or the response disposed
    private long _received;                          // body bytes read so far
    private Activity? _activity;                     // the call's span, stopped on release; null when nobody listens
    private bool _emptyBody;                         // released at once because it has no body (HEAD, 204, 304, Content-Length: 0)

    internal ClientResponse(ClientSession session, HttpMethod method, Uri url, HttpResponseMessage message, HostSlot? slot,
        double started, double? totalDeadline, ClientTimeout timeout, IReadOnlyList<ClientResponse> history)
    {
        _session = session;
        _message = message;
        _slot = slot;
        _started = started;
        _totalDeadline = totalDeadline;
        _total = timeout.Total;
        _read = timeout.Read;
        Method = method;
        Url = url;
        History = history;
        Status = (int)message.StatusCode;
        Reason = message.ReasonPhrase;
        Headers = message.Headers;
        ContentHeaders = message.Content.Headers;
        Version = message.Version;
    }

    /// <summary>A redirect response kept in a later response's <see cref="History"/>: status and headers only.</summary>
    internal ClientResponse(HttpMethod method, Uri url, HttpResponseMessage message)
    {
        Method = method;
        Url = url;
        History = [];
        Status = (int)message.StatusCode;
        Reason = message.ReasonPhrase;
        Headers = message.Headers;
        ContentHeaders = message.Content.Headers;
        Version = message.Version;
        _finished = true;
    }

    /// <summary>The status code (aiohttp's <c>status</c>).</summary>
    public int Status { get; }

    /// <summary>The status as <see cref="HttpStatusCode"/>.</summary>
    public HttpStatusCode StatusCode => (HttpStatusCode)Status;

    /// <summary>Whether <see cref="Status"/> is below 400 (aiohttp's <c>ok</c>).</summary>
    public bool Ok => Status < 400;

    /// <summary>The reason phrase the server sent (aiohttp's <c>reason</c>).</summary>
    public string? Reason { get; }

    /// <summary>The method of the request that gave this response (after a 303 redirect: GET).</summary>
    public HttpMethod Method { get; }

    /// <summary>The URL that gave this response: after redirects, the last one (aiohttp's <c>url</c>).</summary>
    public Uri Url { get; }

    /// <summary>The redirect responses that led here, oldest first, with status and headers but no body (aiohttp's <c>history</c>).</summary>
    public IReadOnlyList<ClientResponse> History { get; }

    /// <summary>The response headers (without the content headers).</summary>
    public HttpResponseHeaders Headers { get; }

    /// <summary>The content headers (<c>Content-Type</c>, <c>Content-Length</c>, …).</summary>
    public HttpContentHeaders ContentHeaders { get; }

    /// <summary>The HTTP version of the response.</summary>
    public Version Version { get; }

    /// <summary>The media type of <c>Content-Type</c> (aiohttp's <c>content_type</c>), or null.</summary>
    public string? ContentType => ContentHeaders.ContentType?.MediaType;

    /// <summary>The <c>Content-Length</c> the server announced, or null.</summary>
    public long? ContentLength => ContentHeaders.ContentLength;

    /// <summary>Body bytes read so far.</summary>
    public long BytesRead => _received;

    /// <summary>Whether the body has been read to its end, or the response released.</summary>
    public bool IsReleased => _finished;

    /// <summary>The value of header <paramref name="name"/> (response or content header; several values joined by ", "), or null.</summary>
    public string? GetHeader(string name)
    {
        if (Headers.TryGetValues(name, out IEnumerable<string>? values) || ContentHeaders.TryGetValues(name, out values))
        {
            return string.Join(", ", values);
        }
        return null;
    }

    /// <summary>Throws <see cref="HttpRequestException"/> (with <see cref="HttpRequestException.StatusCode"/>) when the status is 400 or more, and releases the response then.</summary>
    public void RaiseForStatus()
    {
        if (!Ok)
        {
            ReleaseNow();
            throw ClientThrowHelper.Status(Method, Url, Status, Reason);
        }
    }

    /// <summary>Reads the body into <paramref name="buffer"/>: the bytes that arrived, up to its length; 0 at the end of the body.</summary>
    /// <exception cref="ClientTimeoutException">The total or read limit passed.</exception>
    /// <exception cref="HttpRequestException">The server closed the connection before the end of the body.</exception>
    /// <exception cref="CancelledError">The task or an enclosing scope was cancelled; the connection is closed.</exception>
    public async Task<int> ReadAsync(Memory<byte> buffer)
    {
        if (_finished)
        {
            return 0;
        }
        try
        {
            return await Timed.RunAsync(Loop, _totalDeadline, _read?.TotalSeconds,
                (_, token) => ReadChunkAsync(buffer, token), OnTimeout);
        }
        catch (Exception e)
        {
            Fail(e);
            throw;
        }
    }

    /// <summary>Reads the whole body (aiohttp's <c>read()</c>) and releases the response.</summary>
    public async Task<byte[]> ReadAllBytesAsync()
    {
        CheckUnread();
        var output = new MemoryStream(ContentLength is long l and < int.MaxValue ? (int)l : 0);
        await ReadToEndAsync(output);
        return output.Length == output.Capacity ? output.GetBuffer() : output.ToArray();
    }

    /// <summary>Reads the whole body as text in the charset of <c>Content-Type</c> (UTF-8 when none; aiohttp's <c>text()</c>) and releases the response.</summary>
    public async Task<string> TextAsync(Encoding? encoding = null)
    {
        byte[] bytes = await ReadAllBytesAsync();
        return (encoding ?? CharsetEncoding()).GetString(bytes);
    }

    /// <summary>Reads the whole body and deserializes it from JSON with System.Text.Json (aiohttp's <c>json()</c>).</summary>
    public async Task<T?> JsonAsync<T>(JsonSerializerOptions? options = null)
    {
        byte[] bytes = await ReadAllBytesAsync();
        return JsonSerializer.Deserialize<T>(bytes, options ?? JsonSerializerOptions.Web);
    }

    /// <summary>Copies the body to <paramref name="destination"/> chunk by chunk (memory stays bounded) and releases the response.</summary>
    public async Task CopyToAsync(Stream destination)
    {
        ArgumentNullException.ThrowIfNull(destination);
        CheckUnread();
        await ReadToEndAsync(destination);
    }

    /// <summary>The body in chunks of at most <paramref name="chunkSize"/> bytes as they arrive (aiohttp's <c>iter_chunked</c>); each chunk is only valid until the next.</summary>
    public async IAsyncEnumerable<ReadOnlyMemory<byte>> ReadChunksAsync(int chunkSize = 64 * 1024)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(chunkSize);
        byte[] buffer = new byte[chunkSize];
        while (true)
        {
            int n = await ReadAsync(buffer);
            if (n == 0)
            {
                yield break;
            }
            yield return buffer.AsMemory(0, n);
        }
    }

    /// <summary>The body as lines (split at \n, a trailing \r removed), decoded as <see cref="TextAsync"/>, as they arrive; for streamed text and NDJSON.</summary>
    public async IAsyncEnumerable<string> ReadLinesAsync()
    {
        Encoding encoding = CharsetEncoding();
        byte[] buffer = new byte[16 * 1024];
        var pending = new MemoryStream();
        while (true)
        {
            int n = await ReadAsync(buffer);
            if (n == 0)
            {
                if (pending.Length > 0)
                {
                    yield return Decode(encoding, pending.GetBuffer().AsSpan(0, (int)pending.Length));
                }
                yield break;
            }
            int start = 0;
            for (int i = 0; i < n; i++)
            {
                if (buffer[i] != (byte)'\n')
                {
                    continue;
                }
                pending.Write(buffer, start, i - start);
                yield return Decode(encoding, pending.GetBuffer().AsSpan(0, (int)pending.Length));
                pending.SetLength(0);
                start = i + 1;
            }
            pending.Write(buffer, start, n - start);
        }
    }

    private static string Decode(Encoding encoding, ReadOnlySpan<byte> line) =>
        encoding.GetString(line.Length > 0 && line[^1] == (byte)'\r' ? line[..^1] : line);

    /// <summary>Releases the response: its place in the session's limits, and its connection (reused if the body was read, else closed or drained by the handler).</summary>
    public ValueTask DisposeAsync()
    {
        if (!_finished)
        {
            Trace(ClientTraceEventKind.End, _received);
        }
        ReleaseNow();
        return ValueTask.CompletedTask;
    }

    /// <summary>asyncio-style description: <c>&lt;ClientResponse(http://host/path) [200 OK]&gt;</c>.</summary>
    public override string ToString() => $"<ClientResponse({Url}) [{Status} {Reason}]{(_finished ? "" : " open")}>";

    // ---- internals

    private EventLoop Loop => _session!.Loop;

    /// <summary>A response without a body (HEAD, 204, 304, Content-Length: 0) gives its place back at once; reading it gives nothing.</summary>
    internal void ReleaseIfEmpty()
    {
        if (Method == HttpMethod.Head || Status is 204 or 304 || ContentLength == 0)
        {
            _emptyBody = true;
            Trace(ClientTraceEventKind.End, 0);
            ReleaseNow();
        }
    }

    private void CheckUnread()
    {
        if ((_finished && !_emptyBody) || _received > 0)
        {
            throw ClientThrowHelper.BodyConsumed(Url);
        }
    }

    private Encoding CharsetEncoding()
    {
        string? charset = ContentHeaders.ContentType?.CharSet?.Trim('"');
        if (charset is not null)
        {
            try
            {
                return Encoding.GetEncoding(charset);
            }
            catch (ArgumentException)
            {
                // unknown charset: fall back to UTF-8 as aiohttp does when detection fails
            }
        }
        return Encoding.UTF8;
    }

    private async Task ReadToEndAsync(Stream destination)
    {
        // A pooled buffer sized to the announced body (a small response must not cost a 64 KiB allocation).
        int size = ContentLength is long l ? (int)Math.Clamp(l + 1, 1024, 64 * 1024) : 16 * 1024;
        byte[] buffer = ArrayPool<byte>.Shared.Rent(size);
        try
        {
            await Timed.RunAsync(Loop, _totalDeadline, _read?.TotalSeconds, async (deadline, token) =>
            {
                while (true)
                {
                    int n = await ReadChunkAsync(buffer, token);
                    if (n == 0)
                    {
                        return true;
                    }
                    deadline?.Touch();
                    await destination.WriteAsync(buffer.AsMemory(0, n), token);
                }
            }, OnTimeout);
        }
        catch (Exception e)
        {
            Fail(e);
            throw;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>One read of the content stream (inside a Timed operation): counts, traces, and releases at the end or on failure.</summary>
    private async Task<int> ReadChunkAsync(Memory<byte> buffer, CancellationToken token)
    {
        if (_finished)
        {
            return 0;
        }
        try
        {
            _body ??= await _message!.Content.ReadAsStreamAsync(token);
            int n = await _body.ReadAsync(buffer, token);
            if (n == 0)
            {
                Trace(ClientTraceEventKind.End, _received);
                ReleaseNow();
                return 0;
            }
            _received += n;
            Trace(ClientTraceEventKind.Chunk, n);
            return n;
        }
        catch (Exception e) when (e is not OperationCanceledException && !Aio.LowLevel.Checkpoint.IsCancelled)
        {
            // Not our cancellation: the server (or the network) broke the body off.
            throw ClientThrowHelper.ResponseEnded(Method, Url, Status, _received, ContentLength, e);
        }
    }

    private Exception OnTimeout(ClientTimeoutKind kind) =>
        ClientThrowHelper.TimedOut(kind, Method, Url, $"while reading the response body after {_received} bytes", kind == ClientTimeoutKind.Total ? _total : _read);

    private void Fail(Exception error)
    {
        if (!_finished)
        {
            Trace(ClientTraceEventKind.Exception, 0, error);
        }
        _activity?.SetStatus(ActivityStatusCode.Error, error.Message);
        _activity?.SetTag("error.type", error.GetType().FullName);
        ReleaseNow();
    }

    private void Trace(ClientTraceEventKind kind, long bytes, Exception? error = null) =>
        _session?.Trace(kind, Method, Url, Status, bytes, _started, null, error);

    internal void EndActivityOnRelease(Activity activity)
    {
        if (_finished)
        {
            activity.Stop();
            return;
        }
        _activity = activity;
    }

    /// <summary>Ends the response now: the content stream and message are disposed (the handler reuses, drains or closes the connection) and the place in the limits returned.</summary>
    internal void ReleaseNow()
    {
        if (_finished && _slot is null)
        {
            return;
        }
        _finished = true;
        _body?.Dispose();
        _message?.Dispose();
        HostSlot? slot = _slot;
        _slot = null;
        slot?.Release();
        if (_activity is { } activity)
        {
            _activity = null;
            activity.SetTag("aio.http.body_bytes", _received);
            activity.Stop();
        }
    }
}
