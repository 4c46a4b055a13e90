namespace Aio.Http;

/// <summary>
/// The per-request arguments of <see cref="ClientSession.RequestAsync"/> (aiohttp's <c>params</c>, <c>headers</c>,
/// <c>data</c>, <c>timeout</c>, <c>allow_redirects</c>, <c>max_redirects</c>, <c>raise_for_status</c>). A null member
/// takes the session's setting.
/// </summary>
public sealed record ClientRequestOptions
{
    /// <summary>Query parameters appended to the URL, escaped; a null value adds the name alone. Default none.</summary>
    public IEnumerable<KeyValuePair<string, string?>>? Query { get; init; }

    /// <summary>Headers of this request; they replace the session's headers of the same name. Default none.</summary>
    public IEnumerable<KeyValuePair<string, string>>? Headers { get; init; }

    /// <summary>
    /// The request body. A <see cref="StreamContent"/> is streamed without being buffered (its stream is read on the
    /// connection's thread, not the loop's); a body that cannot be re-read fails a 307/308 redirect. Default none.
    /// </summary>
    public HttpContent? Content { get; init; }

    /// <summary>The time limits of this request. Default the session's.</summary>
    public ClientTimeout? Timeout { get; init; }

    /// <summary>Whether redirects are followed. Default the session's.</summary>
    public bool? AllowRedirects { get; init; }

    /// <summary>The most redirects followed. Default the session's.</summary>
    public int? MaxRedirects { get; init; }

    /// <summary>Whether a status of 400 or more throws. Default the session's.</summary>
    public bool? RaiseForStatus { get; init; }

    /// <summary>The HTTP version to ask for (lower versions are accepted). Default HTTP/1.1.</summary>
    public Version? Version { get; init; }
}
