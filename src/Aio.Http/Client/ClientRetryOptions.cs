namespace Aio.Http;

/// <summary>
/// Retries of a <see cref="ClientSession"/>'s failed requests (off by default, as in aiohttp), done by Polly
/// (<c>Polly.Core</c>'s retry strategy) on the loop's clock: only idempotent methods, on connection errors, connect and
/// read timeouts and the statuses of <see cref="RetryOnStatus"/>, with exponential back-off and jitter, or the server's
/// <c>Retry-After</c> when it sends one.
/// </summary>
public sealed record ClientRetryOptions
{
    /// <summary>Retries after the first attempt (so up to this many plus one requests). Default 3.</summary>
    public int MaxRetries { get; init; } = 3;

    /// <summary>The first back-off delay; each retry doubles it (before jitter). Default 0.5 seconds.</summary>
    public TimeSpan BaseDelay { get; init; } = TimeSpan.FromSeconds(0.5);

    /// <summary>The longest back-off, and the most of a <c>Retry-After</c> honoured. Default 30 seconds.</summary>
    public TimeSpan MaxDelay { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Whether the back-off is randomised (Polly's decorrelated jitter), so clients do not retry in step. Default true.</summary>
    public bool UseJitter { get; init; } = true;

    /// <summary>Whether a <c>Retry-After</c> header (seconds or a date) sets the delay. Default true.</summary>
    public bool RespectRetryAfter { get; init; } = true;

    /// <summary>The statuses that are retried. Default 408, 429, 500, 502, 503, 504.</summary>
    public IReadOnlySet<int> RetryOnStatus { get; init; } = new HashSet<int> { 408, 429, 500, 502, 503, 504 };

    /// <summary>The methods that are retried: the idempotent ones of RFC 9110 §9.2.2. Default GET, HEAD, OPTIONS, TRACE, PUT, DELETE.</summary>
    public IReadOnlySet<string> Methods { get; init; } = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { "GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE" };
}
