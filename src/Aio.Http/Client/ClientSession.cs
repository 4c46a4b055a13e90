// ClientSession: aiohttp's ClientSession on the loop, over SocketsHttpHandler.
//
// Design note. The protocol (HTTP/1.1 and 2, TLS, proxies, decompression, the connection pool) is the handler's;
// the session adds what aiohttp users expect and HttpClient does not have: (1) every await resumes on the loop and
// obeys the ambient cancel scope — the scope's token reaches the handler, so a FailAfter or a cancelled task aborts
// the request and frees its connection (see Internal/Timed.cs); (2) limits as concurrency limits — a request takes a
// place in an overall and a per-host FIFO AioSemaphore before it reaches the handler and keeps it until its body is
// read or it is disposed, so extra requests queue on the loop in call order and can be cancelled or time out there;
// (3) aiohttp's timeouts on the loop's clock; (4) redirects followed here, not in the handler, for RFC 9110 §15.4's
// method rules, a limit, loop detection and dropping Authorization on a cross-origin hop. Each hop releases its place
// before the next one takes its own (a redirect to the same host under a per-host limit of 1 must not deadlock).
using System.Diagnostics;
using System.Net;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Aio.Http.Client.Internal;

namespace Aio.Http;

/// <summary>
/// An HTTP client on the event loop, shaped like aiohttp's <c>ClientSession</c>: one per application (it pools
/// connections), requests as <c>await session.GetAsync(url)</c>, limits per host that queue on the loop, timeouts on
/// the loop's clock, redirects, a cookie jar, JSON, streamed bodies. The HTTP protocol is .NET's
/// <see cref="SocketsHttpHandler"/>.
/// </summary>
/// <remarks>
/// <para>Every await resumes on the loop and obeys the ambient cancel scope: cancelling the task (or a
/// <c>FailAfter</c> around the call) aborts the request in the handler and closes its connection.</para>
/// <para>A session belongs to the loop it was created on: use it from that loop's tasks only. Dispose it
/// (<c>await using</c>) to close its connections.</para>
/// </remarks>
[DebuggerDisplay("{ToString(),nq}")]
public sealed class ClientSession : IAsyncDisposable
{
    private static readonly ClientRequestOptions NoOptions = new();

    private readonly EventLoop _loop;
    private readonly ClientSessionOptions _options;
    private readonly Connector _connector;
    private readonly HttpMessageInvoker _invoker;
    private readonly HostLimiter _limiter;
    private readonly CookieContainer? _cookies;
    private readonly RetryPipeline? _retry;
    private bool _closed;

    /// <summary>Creates a session on the running loop.</summary>
    /// <exception cref="InvalidOperationException">No loop runs on this thread.</exception>
    public ClientSession(ClientSessionOptions? options = null)
    {
        _loop = EventLoop.GetRunningLoop();
        _options = options ?? new ClientSessionOptions();
        ArgumentOutOfRangeException.ThrowIfNegative(_options.Limit, nameof(options.Limit));
        ArgumentOutOfRangeException.ThrowIfNegative(_options.LimitPerHost, nameof(options.LimitPerHost));
        ArgumentOutOfRangeException.ThrowIfNegative(_options.MaxRedirects, nameof(options.MaxRedirects));
        _cookies = _options.UseCookies ? _options.Cookies ?? new CookieContainer() : null;
        _connector = new Connector(_loop, _options, _cookies);
        _invoker = new HttpMessageInvoker(_connector.Handler, disposeHandler: true);
        _limiter = new HostLimiter(_options.Limit, _options.LimitPerHost);
        _retry = _options.Retry is { } retry ? new RetryPipeline(_loop, retry) : null;
    }

    /// <summary>The loop the session belongs to.</summary>
    public EventLoop Loop => _loop;

    /// <summary>The session's settings.</summary>
    public ClientSessionOptions Options => _options;

    /// <summary>The cookie jar (aiohttp's <c>cookie_jar</c>), or null when the session keeps no cookies (<see cref="ClientSessionOptions.UseCookies"/>).</summary>
    public CookieContainer? Cookies => _cookies;

    /// <summary>Connections open now (in use or idle in the pool). Any thread may read it.</summary>
    public int OpenConnections => _connector.OpenConnections;

    /// <summary>Connections opened since the session was created. Any thread may read it.</summary>
    public long OpenedConnections => _connector.OpenedConnections;

    /// <summary>Requests holding a place in the limits: sent, or with a body not yet read or released.</summary>
    public int ActiveRequests => _limiter.Active;

    /// <summary>Requests waiting in the limits' queues.</summary>
    public int QueuedRequests => _limiter.Queued;

    /// <summary>Whether the session was disposed.</summary>
    public bool IsClosed => _closed;

    /// <summary>Sends a GET request (aiohttp's <c>get</c>); see <see cref="RequestAsync"/>.</summary>
    public Task<ClientResponse> GetAsync(string url, ClientRequestOptions? options = null) => RequestAsync(HttpMethod.Get, url, options);

    /// <summary>Sends a HEAD request; see <see cref="RequestAsync"/>.</summary>
    public Task<ClientResponse> HeadAsync(string url, ClientRequestOptions? options = null) => RequestAsync(HttpMethod.Head, url, options);

    /// <summary>Sends a DELETE request; see <see cref="RequestAsync"/>.</summary>
    public Task<ClientResponse> DeleteAsync(string url, ClientRequestOptions? options = null) => RequestAsync(HttpMethod.Delete, url, options);

    /// <summary>Sends a POST request with <paramref name="content"/> as body; see <see cref="RequestAsync"/>.</summary>
    public Task<ClientResponse> PostAsync(string url, HttpContent? content, ClientRequestOptions? options = null) =>
        RequestAsync(HttpMethod.Post, url, WithContent(options, content));

    /// <summary>Sends a PUT request with <paramref name="content"/> as body; see <see cref="RequestAsync"/>.</summary>
    public Task<ClientResponse> PutAsync(string url, HttpContent? content, ClientRequestOptions? options = null) =>
        RequestAsync(HttpMethod.Put, url, WithContent(options, content));

    /// <summary>Sends a PATCH request with <paramref name="content"/> as body; see <see cref="RequestAsync"/>.</summary>
    public Task<ClientResponse> PatchAsync(string url, HttpContent? content, ClientRequestOptions? options = null) =>
        RequestAsync(HttpMethod.Patch, url, WithContent(options, content));

    /// <summary>Sends a POST request whose body is <paramref name="value"/> as JSON (System.Text.Json, web defaults; aiohttp's <c>json=</c>).</summary>
    public Task<ClientResponse> PostJsonAsync<T>(string url, T value, ClientRequestOptions? options = null, JsonSerializerOptions? serializerOptions = null) =>
        RequestAsync(HttpMethod.Post, url, WithContent(options, JsonBody(value, serializerOptions)));

    /// <summary>Sends a PUT request whose body is <paramref name="value"/> as JSON.</summary>
    public Task<ClientResponse> PutJsonAsync<T>(string url, T value, ClientRequestOptions? options = null, JsonSerializerOptions? serializerOptions = null) =>
        RequestAsync(HttpMethod.Put, url, WithContent(options, JsonBody(value, serializerOptions)));

    /// <summary>Sends a POST request with an <c>application/x-www-form-urlencoded</c> body (aiohttp's <c>data=dict</c>).</summary>
    public Task<ClientResponse> PostFormAsync(string url, IEnumerable<KeyValuePair<string, string>> form, ClientRequestOptions? options = null) =>
        RequestAsync(HttpMethod.Post, url, WithContent(options, new FormUrlEncodedContent(form)));

    /// <summary>
    /// Sends a request (aiohttp's <c>request</c>) and returns once the response headers have arrived; read the body
    /// from the response, or dispose it. Follows redirects and applies the session's limits and timeouts.
    /// </summary>
    /// <param name="method">The method.</param>
    /// <param name="url">An absolute http or https URL, or one relative to <see cref="ClientSessionOptions.BaseAddress"/>.</param>
    /// <param name="options">Per-request query, headers, body, timeouts and redirect settings.</param>
    /// <exception cref="ClientTimeoutException">A limit of <see cref="ClientTimeout"/> passed.</exception>
    /// <exception cref="TooManyRedirectsException">More redirects than allowed, or a redirect loop.</exception>
    /// <exception cref="HttpRequestException">The connection failed or broke before the response headers; or the status was 400 or more and <c>RaiseForStatus</c> is on.</exception>
    /// <exception cref="CancelledError">The task or an enclosing scope was cancelled: the request was aborted.</exception>
    public async Task<ClientResponse> RequestAsync(HttpMethod method, string url, ClientRequestOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(method);
        ArgumentNullException.ThrowIfNull(url);
        CheckOpen(nameof(RequestAsync));
        options ??= NoOptions;
        Uri uri = ResolveUrl(url, options.Query);
        double started = _loop.Time();
        Trace(ClientTraceEventKind.RequestStart, method, uri, 0, 0, started, null, null);
        // The call's span, only when someone listens; System.Net.Http's span of each hop becomes its child.
        Activity? activity = ClientMetrics.Source.HasListeners() ? ClientMetrics.Source.StartActivity($"ClientSession {method.Method}") : null;
        activity?.SetTag("http.request.method", method.Method);
        activity?.SetTag("url.full", uri.AbsoluteUri);
        try
        {
            ClientResponse response = _retry is not null && _retry.Applies(method)
                ? await RetryingAsync(_retry, method, uri, options, started)
                : await SendFollowingRedirectsAsync(method, uri, options, started);
            if (activity is not null)
            {
                activity.SetTag("http.response.status_code", response.Status);
                activity.SetTag("aio.http.redirects", response.History.Count);
                response.EndActivityOnRelease(activity);
            }
            return response;
        }
        catch (Exception e)
        {
            Trace(ClientTraceEventKind.Exception, method, uri, 0, 0, started, null, e);
            activity?.SetStatus(ActivityStatusCode.Error, e.Message);
            activity?.SetTag("error.type", e.GetType().FullName);
            activity?.Stop();
            throw;
        }
    }

    /// <summary>
    /// Opens a WebSocket to <paramref name="url"/> (ws, wss, http or https; aiohttp's <c>ws_connect</c>) through the
    /// session's connection pool (its handler sends the jar's cookies), default headers and limits: the WebSocket holds its place in the per-host and
    /// overall limits until it is closed. The handshake is bounded by the session's total timeout.
    /// </summary>
    /// <exception cref="WebSocketException">The server refused the upgrade, or the connection failed.</exception>
    /// <exception cref="ClientTimeoutException">The handshake (or the wait for a place in the limits) took too long.</exception>
    /// <exception cref="CancelledError">The task or an enclosing scope was cancelled.</exception>
    public async Task<AioWebSocket> WebSocketAsync(string url, AioWebSocketOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(url);
        CheckOpen(nameof(WebSocketAsync));
        options ??= new AioWebSocketOptions();
        string http = url.StartsWith("ws://", StringComparison.OrdinalIgnoreCase) ? "http://" + url[5..]
            : url.StartsWith("wss://", StringComparison.OrdinalIgnoreCase) ? "https://" + url[6..] : url;
        Uri uri = ResolveUrl(http, null);
        var wsUri = new UriBuilder(uri) { Scheme = uri.Scheme == Uri.UriSchemeHttps ? "wss" : "ws", Port = uri.Port }.Uri;
        double started = _loop.Time();
        ClientTimeout timeout = _options.Timeout;
        double? total = timeout.Total is TimeSpan t ? started + t.TotalSeconds : null;
        double? connect = timeout.Connect is TimeSpan c ? started + c.TotalSeconds : null;
        Trace(ClientTraceEventKind.RequestStart, HttpMethod.Get, uri, 0, 0, started, null, null);
        HostSlot slot = await AcquireSlotAsync(HttpMethod.Get, uri, started, total, connect, timeout);
        var socket = new ClientWebSocket();
        try
        {
            socket.Options.KeepAliveInterval = options.Heartbeat ?? TimeSpan.Zero;
            if (options.Heartbeat is not null)
            {
                socket.Options.KeepAliveTimeout = options.HeartbeatTimeout ?? options.Heartbeat.Value;
            }
            foreach (string protocol in options.SubProtocols ?? [])
            {
                socket.Options.AddSubProtocol(protocol);
            }
            IEnumerable<KeyValuePair<string, string>> headers = (_options.Headers ?? new Dictionary<string, string>())
                .Where(h => options.Headers is null || !options.Headers.Any(o => string.Equals(o.Key, h.Key, StringComparison.OrdinalIgnoreCase)))
                .Concat(options.Headers ?? []);
            foreach (KeyValuePair<string, string> h in headers)
            {
                socket.Options.SetRequestHeader(h.Key, h.Value);
            }
            await Timed.RunAsync(_loop, total, null, async (_, token) =>
            {
                await socket.ConnectAsync(wsUri, _invoker, token);
                return true;
            }, kind => ClientThrowHelper.TimedOut(kind, HttpMethod.Get, uri, "during the WebSocket handshake", timeout.Total));
        }
        catch (Exception e)
        {
            socket.Dispose();
            slot.Release();
            Trace(ClientTraceEventKind.Exception, HttpMethod.Get, uri, 0, 0, started, null, e);
            throw;
        }
        Trace(ClientTraceEventKind.Headers, HttpMethod.Get, uri, 101, 0, started, null, null);
        return AioWebSocket.ForClient(socket, options, wsUri.ToString(), slot.Release);
    }

    /// <summary>Closes the session's connections (aiohttp's <c>close()</c>). Requests still running fail; later calls throw.</summary>
    public ValueTask DisposeAsync()
    {
        if (!_closed)
        {
            _closed = true;
            _invoker.Dispose();
        }
        return ValueTask.CompletedTask;
    }

    /// <summary>asyncio-style description: <c>&lt;ClientSession active=2 queued=0 connections=2&gt;</c>.</summary>
    public override string ToString() =>
        $"<ClientSession{(_closed ? " closed" : "")} active={ActiveRequests} queued={QueuedRequests} connections={OpenConnections}>";

    // ---- the request

    private async Task<ClientResponse> SendFollowingRedirectsAsync(HttpMethod method, Uri uri, ClientRequestOptions options, double started)
    {
        ClientTimeout timeout = options.Timeout ?? _options.Timeout;
        double? total = timeout.Total is TimeSpan t ? started + t.TotalSeconds : null;
        double? connect = timeout.Connect is TimeSpan c ? started + c.TotalSeconds : null;
        bool follow = options.AllowRedirects ?? _options.AllowRedirects;
        int maxRedirects = options.MaxRedirects ?? _options.MaxRedirects;
        HttpContent? content = options.Content;
        Uri origin = uri;
        bool crossOrigin = false;                       // once a hop left the first origin, credentials stay dropped
        List<ClientResponse>? history = null;
        List<Uri>? hops = null;
        HashSet<string>? seen = null;
        while (true)
        {
            HostSlot slot = await AcquireSlotAsync(method, uri, started, total, connect, timeout);
            HttpResponseMessage message;
            try
            {
                HttpRequestMessage request = BuildRequest(method, uri, content, options, crossOrigin, connect);
                message = await Timed.RunAsync(_loop, total, timeout.Read?.TotalSeconds,
                    (_, token) => _invoker.SendAsync(request, token),
                    kind => ClientThrowHelper.TimedOut(kind, method, uri, "waiting for the response headers", kind == ClientTimeoutKind.Total ? timeout.Total : timeout.Read));
            }
            catch (HttpRequestException e)
            {
                slot.Release();
                throw (Exception?)FindConnectTimeout(e) ?? ClientThrowHelper.RequestFailed(method, uri, e);
            }
            catch
            {
                slot.Release();
                throw;
            }

            int status = (int)message.StatusCode;
            if (follow && status is 301 or 302 or 303 or 307 or 308 && message.Headers.Location is Uri location)
            {
                Uri next;
                try
                {
                    next = ResolveLocation(uri, location);
                }
                catch
                {
                    message.Dispose();
                    slot.Release();
                    throw;
                }
                history ??= [];
                hops ??= [uri];
                seen ??= [RequestKey(method, uri)];
                history.Add(new ClientResponse(method, uri, message));
                message.Dispose();                      // the handler drains a short body and reuses the connection
                slot.Release();
                hops.Add(next);
                if (history.Count > maxRedirects)
                {
                    throw ClientThrowHelper.TooManyRedirects(method, hops, maxRedirects);
                }
                // RFC 9110 §15.4: 303 turns anything but HEAD into GET; 301/302 turn POST into GET (what browsers and
                // aiohttp do); 307/308 keep the method and the body.
                if ((status == 303 && method != HttpMethod.Head) || (status is 301 or 302 && method == HttpMethod.Post))
                {
                    method = HttpMethod.Get;
                    content = null;
                }
                crossOrigin |= !SameOrigin(origin, next);
                if (!seen.Add(RequestKey(method, next)))
                {
                    throw ClientThrowHelper.RedirectLoop(method, hops);
                }
                Trace(ClientTraceEventKind.Redirect, method, uri, status, 0, started, next, null);
                ClientMetrics.Redirects.Add(1);
                uri = next;
                continue;
            }

            var response = new ClientResponse(this, method, uri, message, slot, started, total, timeout, (IReadOnlyList<ClientResponse>?)history ?? []);
            Trace(ClientTraceEventKind.Headers, method, uri, status, 0, started, null, null);
            response.ReleaseIfEmpty();
            if (options.RaiseForStatus ?? _options.RaiseForStatus)
            {
                response.RaiseForStatus();
            }
            return response;
        }
    }

    /// <summary>The attempts of a retried request, all within the total limit (a back-off that would pass it ends there).</summary>
    private Task<ClientResponse> RetryingAsync(RetryPipeline retry, HttpMethod method, Uri uri, ClientRequestOptions options, double started)
    {
        ClientTimeout timeout = options.Timeout ?? _options.Timeout;
        return Timed.RunAsync(_loop, timeout.Total is TimeSpan t ? started + t.TotalSeconds : null, null,
            (_, _) => retry.ExecuteAsync(() => SendFollowingRedirectsAsync(method, uri, options, started)),
            _ => ClientThrowHelper.TimedOut(ClientTimeoutKind.Total, method, uri, "while retrying", timeout.Total));
    }

    /// <summary>Takes the request's place in the limits; a wait there is bounded by the connect and total limits.</summary>
    private async Task<HostSlot> AcquireSlotAsync(HttpMethod method, Uri uri, double started, double? total, double? connect, ClientTimeout timeout)
    {
        string host = uri.GetLeftPart(UriPartial.Authority);
        if (!_limiter.WouldWait(host))
        {
            return await _limiter.AcquireAsync(host);
        }
        double queuedAt = _loop.Time();
        Trace(ClientTraceEventKind.QueuedStart, method, uri, 0, 0, started, null, null);
        double? deadline = (total, connect) switch
        {
            (double a, double b) => Math.Min(a, b),
            (double a, null) => a,
            (null, double b) => b,
            _ => null,
        };
        HostSlot? slot = null;
        if (deadline is null)
        {
            slot = await _limiter.AcquireAsync(host);
        }
        else
        {
            var scope = new CancelScope(deadline);
            await scope.RunAsync(async () => slot = await _limiter.AcquireAsync(host));
            if (slot is null)
            {
                ClientTimeoutKind kind = connect is double cd && cd <= deadline ? ClientTimeoutKind.Connect : ClientTimeoutKind.Total;
                throw ClientThrowHelper.TimedOut(kind, method, uri, "waiting for a free place in the connection queue",
                    kind == ClientTimeoutKind.Connect ? timeout.Connect : timeout.Total);
            }
        }
        double waited = _loop.Time() - queuedAt;
        ClientMetrics.QueueDuration.Record(waited, new KeyValuePair<string, object?>("server.address", uri.Host), new KeyValuePair<string, object?>("server.port", uri.Port));
        Trace(ClientTraceEventKind.QueuedEnd, method, uri, 0, 0, queuedAt, null, null);
        return slot;
    }

    private HttpRequestMessage BuildRequest(HttpMethod method, Uri uri, HttpContent? content, ClientRequestOptions options, bool crossOrigin, double? connectDeadline)
    {
        var request = new HttpRequestMessage(method, uri)
        {
            Content = content,
            Version = options.Version ?? HttpVersion.Version11,
            VersionPolicy = HttpVersionPolicy.RequestVersionOrLower,
        };
        if (_options.Headers is { } defaults)
        {
            foreach (KeyValuePair<string, string> h in defaults)
            {
                if (options.Headers is null || !options.Headers.Any(o => string.Equals(o.Key, h.Key, StringComparison.OrdinalIgnoreCase)))
                {
                    AddHeader(request, h.Key, h.Value, crossOrigin);
                }
            }
        }
        if (options.Headers is { } headers)
        {
            foreach (KeyValuePair<string, string> h in headers)
            {
                AddHeader(request, h.Key, h.Value, crossOrigin);
            }
        }
        if (connectDeadline is double d)
        {
            request.Options.Set(Connector.ConnectDeadlineKey, d);
        }
        return request;
    }

    private static void AddHeader(HttpRequestMessage request, string name, string value, bool crossOrigin)
    {
        if (crossOrigin && (name.Equals("Authorization", StringComparison.OrdinalIgnoreCase) || name.Equals("Cookie", StringComparison.OrdinalIgnoreCase)))
        {
            return;                                     // credentials for the first origin never reach another one
        }
        if (!request.Headers.TryAddWithoutValidation(name, value))
        {
            request.Content?.Headers.Remove(name);
            request.Content?.Headers.TryAddWithoutValidation(name, value);
        }
    }

    private static ClientTimeoutException? FindConnectTimeout(Exception e)
    {
        for (Exception? inner = e; inner is not null; inner = inner.InnerException)
        {
            if (inner is ClientTimeoutException timeout)
            {
                return timeout;
            }
        }
        return null;
    }

    private string RequestKey(HttpMethod method, Uri uri) =>
        $"{method} {uri.AbsoluteUri} {_cookies?.GetCookieHeader(uri)}";

    private static bool SameOrigin(Uri a, Uri b) =>
        string.Equals(a.Scheme, b.Scheme, StringComparison.OrdinalIgnoreCase)
        && string.Equals(a.IdnHost, b.IdnHost, StringComparison.OrdinalIgnoreCase)
        && a.Port == b.Port;

    private static Uri ResolveLocation(Uri current, Uri location)
    {
        Uri next = location.IsAbsoluteUri ? location : new Uri(current, location);
        if (next.Scheme != Uri.UriSchemeHttp && next.Scheme != Uri.UriSchemeHttps)
        {
            throw ClientThrowHelper.BadRedirect(HttpMethod.Get, current, location.OriginalString);
        }
        if (next.Fragment.Length == 0 && current.Fragment.Length > 0)
        {
            next = new UriBuilder(next) { Fragment = current.Fragment[1..] }.Uri;   // RFC 9110 §10.2.2: the fragment carries over
        }
        return next;
    }

    private Uri ResolveUrl(string url, IEnumerable<KeyValuePair<string, string?>>? query)
    {
        Uri uri;
        if (url.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || url.StartsWith("https://", StringComparison.OrdinalIgnoreCase))
        {
            uri = new Uri(url, UriKind.Absolute);
        }
        else if (_options.BaseAddress is { } baseAddress)
        {
            uri = new Uri(baseAddress, url);
        }
        else
        {
            throw ClientThrowHelper.NotAbsolute(url);
        }
        if (query is null)
        {
            return uri;
        }
        var text = new StringBuilder(uri.Query.Length > 1 ? uri.Query[1..] : "");
        foreach (KeyValuePair<string, string?> p in query)
        {
            if (text.Length > 0)
            {
                text.Append('&');
            }
            text.Append(Uri.EscapeDataString(p.Key));
            if (p.Value is not null)
            {
                text.Append('=').Append(Uri.EscapeDataString(p.Value));
            }
        }
        return new UriBuilder(uri) { Query = text.ToString() }.Uri;
    }

    private static ClientRequestOptions WithContent(ClientRequestOptions? options, HttpContent? content) =>
        (options ?? NoOptions) with { Content = content };

    private static ByteArrayContent JsonBody<T>(T value, JsonSerializerOptions? serializerOptions)
    {
        var body = new ByteArrayContent(JsonSerializer.SerializeToUtf8Bytes(value, serializerOptions ?? JsonSerializerOptions.Web));
        body.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
        return body;
    }

    private void CheckOpen(string member)
    {
        if (!ReferenceEquals(EventLoop.TryGetRunningLoop(), _loop))
        {
            throw ClientThrowHelper.WrongThread(member, _loop);
        }
        if (_closed)
        {
            throw ClientThrowHelper.Closed(member);
        }
    }

    internal void Trace(ClientTraceEventKind kind, HttpMethod method, Uri url, int status, long bytes, double since, Uri? redirectTo, Exception? error)
    {
        if (_options.Trace is { } trace)
        {
            trace(new ClientTraceEvent(kind, method, url, status, bytes, _loop.Time() - since, redirectTo, error));
        }
    }
}
