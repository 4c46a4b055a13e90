namespace Aio.Http;

/// <summary>What happened to a request, in a <see cref="ClientTraceEvent"/>.</summary>
public enum ClientTraceEventKind
{
    /// <summary>The request was called (before any queueing).</summary>
    RequestStart,

    /// <summary>The request must wait for a place in the overall or per-host queue.</summary>
    QueuedStart,

    /// <summary>The request got its place after waiting (<see cref="ClientTraceEvent.Elapsed"/> is the wait).</summary>
    QueuedEnd,

    /// <summary>A redirect is followed: <see cref="ClientTraceEvent.Url"/> answered <see cref="ClientTraceEvent.Status"/>, <see cref="ClientTraceEvent.RedirectTo"/> comes next.</summary>
    Redirect,

    /// <summary>The final response's headers arrived (aiohttp's <c>on_request_end</c>).</summary>
    Headers,

    /// <summary>A chunk of the body was read (<see cref="ClientTraceEvent.Bytes"/> long).</summary>
    Chunk,

    /// <summary>The body was read to its end, or the response was disposed (<see cref="ClientTraceEvent.Bytes"/>: body bytes read in all).</summary>
    End,

    /// <summary>The request failed (<see cref="ClientTraceEvent.Exception"/>): before the headers, or while the body was read.</summary>
    Exception,
}

/// <summary>
/// One step of a <see cref="ClientSession"/> request, given to <see cref="ClientSessionOptions.Trace"/> on the loop.
/// </summary>
/// <param name="Kind">What happened.</param>
/// <param name="Method">The request's method (after a redirect, the method of the hop).</param>
/// <param name="Url">The URL of the hop.</param>
/// <param name="Status">The response status, 0 before the headers arrived.</param>
/// <param name="Bytes">For <see cref="ClientTraceEventKind.Chunk"/> the chunk's length, for <see cref="ClientTraceEventKind.End"/> the body's; else 0.</param>
/// <param name="Elapsed">Seconds of loop time since the request was called (for <see cref="ClientTraceEventKind.QueuedEnd"/>: since it was queued).</param>
/// <param name="RedirectTo">For <see cref="ClientTraceEventKind.Redirect"/>, the next URL.</param>
/// <param name="Exception">For <see cref="ClientTraceEventKind.Exception"/>, the error.</param>
public readonly record struct ClientTraceEvent(
    ClientTraceEventKind Kind, HttpMethod Method, Uri Url, int Status, long Bytes, double Elapsed, Uri? RedirectTo = null, Exception? Exception = null);
