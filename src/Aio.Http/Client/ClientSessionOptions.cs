using System.Net;
using System.Net.Http;
using System.Net.Security;

namespace Aio.Http;

/// <summary>
/// The settings of a <see cref="ClientSession"/> (aiohttp's <c>ClientSession</c> and <c>TCPConnector</c> arguments).
/// Every default is aiohttp's unless it says otherwise.
/// </summary>
public sealed record ClientSessionOptions
{
    /// <summary>The address relative request URLs are resolved against (aiohttp's <c>base_url</c>). Default none: URLs must be absolute.</summary>
    public Uri? BaseAddress { get; init; }

    /// <summary>Headers sent with every request; a request's own headers of the same name replace them. Default none.</summary>
    public IReadOnlyDictionary<string, string>? Headers { get; init; }

    /// <summary>
    /// The cookie jar: cookies the servers set are stored here and sent back on later requests (and redirects) to the
    /// hosts and paths they apply to. Default null: each session makes its own empty jar (<see cref="ClientSession.Cookies"/>);
    /// give one to share it between sessions.
    /// </summary>
    public CookieContainer? Cookies { get; init; }

    /// <summary>Whether cookies are stored and sent at all; false is aiohttp's <c>DummyCookieJar</c>. Default true.</summary>
    public bool UseCookies { get; init; } = true;

    /// <summary>The time limits of every request, unless a request gives its own. Default <see cref="ClientTimeout.Default"/>.</summary>
    public ClientTimeout Timeout { get; init; } = ClientTimeout.Default;

    /// <summary>
    /// The most requests in flight at once across all hosts (aiohttp's <c>limit</c>); more wait in a FIFO queue on the
    /// loop. 0 means no limit. Default 100.
    /// </summary>
    public int Limit { get; init; } = 100;

    /// <summary>
    /// The most requests in flight at once to one host (scheme, host and port; aiohttp's <c>limit_per_host</c>), which is
    /// also the most connections the session opens to it; more wait in a FIFO queue on the loop, in call order. 0 means
    /// no limit. Default 0.
    /// </summary>
    public int LimitPerHost { get; init; }

    /// <summary>How long an idle keep-alive connection stays in the pool (aiohttp's <c>keepalive_timeout</c>). Default 15 seconds.</summary>
    public TimeSpan KeepAliveTimeout { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// How long a pooled connection is reused at most; a new connection resolves the host name again, so this is also how
    /// often DNS changes are picked up (aiohttp's <c>ttl_dns_cache</c>). Default 2 minutes (.NET's is infinite).
    /// </summary>
    public TimeSpan ConnectionLifetime { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>Whether redirects are followed (each request may override it). Default true.</summary>
    public bool AllowRedirects { get; init; } = true;

    /// <summary>The most redirects one request follows before it throws <see cref="TooManyRedirectsException"/>. Default 10.</summary>
    public int MaxRedirects { get; init; } = 10;

    /// <summary>Whether a response with a status of 400 or more throws at once (see <see cref="ClientResponse.RaiseForStatus"/>). Default false.</summary>
    public bool RaiseForStatus { get; init; }

    /// <summary>Whether gzip, deflate and brotli response bodies are decompressed (aiohttp's <c>auto_decompress</c>). Default true.</summary>
    public bool AutomaticDecompression { get; init; } = true;

    /// <summary>The proxy to use; null uses the system's (the <c>HTTP_PROXY</c>/<c>HTTPS_PROXY</c> variables). Default null.</summary>
    public IWebProxy? Proxy { get; init; }

    /// <summary>TLS settings for https connections (certificate validation, client certificates). Default .NET's.</summary>
    public SslClientAuthenticationOptions? SslOptions { get; init; }

    /// <summary>
    /// Retries of failed idempotent requests (connection errors, connect and read timeouts, 408/429/5xx) with exponential
    /// back-off, jitter and <c>Retry-After</c>, by Polly. Default null: no retries (as aiohttp).
    /// </summary>
    public ClientRetryOptions? Retry { get; init; }

    /// <summary>
    /// Called on the loop at each step of every request's life (aiohttp's <c>TraceConfig</c>): start, queued, redirect,
    /// headers, each body chunk, end, failure. It runs inline: keep it short and do not await. Default none.
    /// </summary>
    public Action<ClientTraceEvent>? Trace { get; init; }

    /// <summary>
    /// Called once with the <see cref="SocketsHttpHandler"/> the session creates, before its first use, for settings this
    /// type does not cover. The session has already set its connect callback, redirect, cookie and pool settings there:
    /// changing those breaks its limits and timeouts.
    /// </summary>
    public Action<SocketsHttpHandler>? ConfigureHandler { get; init; }
}
