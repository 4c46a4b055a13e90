using System.Globalization;
using System.Net;
using System.Net.Http;

namespace Aio.Http.Client.Internal;

/// <summary>The client's error messages, in one place: what happened, to which request, and what to do.</summary>
internal static class ClientThrowHelper
{
    private static string Seconds(double s) => s.ToString("0.###", CultureInfo.InvariantCulture);

    public static ClientTimeoutException ConnectTimedOut(ClientTimeoutKind kind, DnsEndPoint endPoint, double seconds, Exception inner) =>
        new(kind, $"Connecting to {endPoint.Host}:{endPoint.Port} took longer than the {Name(kind)} limit of {Seconds(seconds)} s; " +
            "the connection attempt was abandoned. Check that the server is reachable, or raise ClientTimeout." + kind + ".", inner);

    public static ClientTimeoutException TimedOut(ClientTimeoutKind kind, HttpMethod method, Uri url, string phase, TimeSpan? limit) =>
        new(kind, $"{method} {url} timed out {phase}: the {Name(kind)} limit of {Seconds(limit?.TotalSeconds ?? 0)} s passed; " +
            $"the request was aborted and its connection closed. Raise ClientTimeout.{kind} if the server is just slow.");

    private static string Name(ClientTimeoutKind kind) => kind switch
    {
        ClientTimeoutKind.Total => "total",
        ClientTimeoutKind.Connect => "connect",
        ClientTimeoutKind.SocketConnect => "socket-connect",
        _ => "read (idle)",
    };

    public static HttpRequestException ResponseEnded(HttpMethod method, Uri url, int status, long received, long? expected, Exception inner)
    {
        string of = expected is long e ? $" of the {e} announced" : "";
        return new HttpRequestException(HttpRequestError.ResponseEnded,
            $"The server closed the connection in the middle of the response body of {method} {url} (status {status}) after " +
            $"{received} bytes{of}: the body is incomplete. {inner.Message}", inner, (HttpStatusCode)status);
    }

    public static HttpRequestException RequestFailed(HttpMethod method, Uri url, HttpRequestException inner) =>
        new(inner.HttpRequestError, $"{method} {url} failed before a response arrived: {inner.Message}", inner, inner.StatusCode);

    public static HttpRequestException Status(HttpMethod method, Uri url, int status, string? reason) =>
        new(HttpRequestError.Unknown, $"{method} {url} answered {status} {reason}: the server refused or failed the request " +
            "(RaiseForStatus treats every status of 400 or more as an error).", null, (HttpStatusCode)status);

    public static TooManyRedirectsException TooManyRedirects(HttpMethod method, IReadOnlyList<Uri> history, int max) =>
        new($"{method} {history[0]} was redirected more than {max} times ({string.Join(" -> ", history)}); raise MaxRedirects " +
            "if this is expected, or check the server's redirects.", history);

    public static TooManyRedirectsException RedirectLoop(HttpMethod method, IReadOnlyList<Uri> history) =>
        new($"{method} {history[0]} ran into a redirect loop: {string.Join(" -> ", history)} asks for a request already made " +
            "with the same cookies. Check the server's redirects.", history);

    public static HttpRequestException BadRedirect(HttpMethod method, Uri url, string location) =>
        new(HttpRequestError.Unknown, $"{method} {url} redirected to '{location}', which is not an http or https URL; the redirect was not followed.");

    public static InvalidOperationException Closed(string member) =>
        new($"ClientSession.{member} was called after the session was disposed; create a new ClientSession.");

    public static InvalidOperationException WrongThread(string member, EventLoop loop) =>
        new($"ClientSession.{member} was called outside the thread of {loop}, the loop the session was created on. " +
            "A session belongs to its loop: use it from that loop's tasks, or reach it with loop.CallSoonThreadSafe.");

    public static ArgumentException NotAbsolute(string url) =>
        new($"The URL '{url}' is relative and the session has no BaseAddress; give an absolute http or https URL or set ClientSessionOptions.BaseAddress.", nameof(url));

    public static InvalidOperationException BodyConsumed(Uri url) =>
        new($"The body of the response from {url} was already read or the response disposed; read it once (keep the bytes or text).");
}
