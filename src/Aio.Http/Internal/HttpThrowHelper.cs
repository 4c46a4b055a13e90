using System.Diagnostics.CodeAnalysis;

namespace Aio.Http.Internal;

/// <summary>The messages of the HTTP server's exceptions, in one place.</summary>
internal static class HttpThrowHelper
{
    [DoesNotReturn]
    public static void RequestFinished(string method) =>
        throw new InvalidOperationException($"This {method} request is finished: its response was sent and the connection reuses its buffer. Copy what you need from a Request before the handler returns.");

    [DoesNotReturn]
    public static void ConcurrentBodyRead() =>
        throw new InvalidOperationException("The request body is already being read by another task; read it from one task at a time.");

    [DoesNotReturn]
    public static void ClientDisconnected() =>
        throw new IOException("The client closed the connection; the response cannot be sent.");

    [DoesNotReturn]
    public static void StreamFinished() =>
        throw new InvalidOperationException("The streamed response is finished; write only inside the Response.Stream callback.");

    [DoesNotReturn]
    public static void StreamLengthExceeded(long declared) =>
        throw new InvalidOperationException($"The streamed response declared Content-Length {declared} and more bytes were written; declare the right length or none (chunked).");

    [DoesNotReturn]
    public static void ServerStarted() =>
        throw new InvalidOperationException("The application is already serving; add routes and middlewares before it starts.");

    [DoesNotReturn]
    public static void InvalidUtf8(AioWebSocket socket, int length, string paramName) =>
        throw new ArgumentException($"The {length} bytes given to SendTextAsync on {socket} are not valid UTF-8, and a text message must be (RFC 6455 §8.1); nothing was sent. Send them with SendBytesAsync as a binary message, or fix the encoding.", paramName);
}
