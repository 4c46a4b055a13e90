using System.Diagnostics.CodeAnalysis;

namespace Aio.Net.Internal;

/// <summary>Every error message of the networking layer in one place; each says what happened and what to do.</summary>
internal static class NetThrowHelper
{
    [DoesNotReturn]
    public static void ServerClosed(Server server) =>
        throw new InvalidOperationException($"{server} is closed; create a new server to serve again.");

    [DoesNotReturn]
    public static void AlreadyServingForever(Server server) =>
        throw new InvalidOperationException($"{server} is already being served forever by another task; await that task instead.");

    [DoesNotReturn]
    public static void InvalidGracePeriod(Server server, double gracePeriod) =>
        throw new ArgumentOutOfRangeException(nameof(gracePeriod), gracePeriod,
            $"The shutdown grace period of {server} must be 0 or more seconds (or infinity), not {gracePeriod}.");

    [DoesNotReturn]
    public static void ShutdownFromHandler(Server server) =>
        throw new InvalidOperationException(
            $"ShutdownAsync was awaited by a connection handler of {server}: the shutdown waits for every handler, so it would wait for itself. " +
            "Start it in a task of its own (Asyncio.CreateTask(() => server.ShutdownAsync(...))) and let the handler return.");

    [DoesNotReturn]
    public static void NoAddresses(string host) =>
        throw new System.Net.Sockets.SocketException((int)System.Net.Sockets.SocketError.HostNotFound);

    public static InvalidOperationException LimitNotPositive(int limit) =>
        new($"The stream limit must be positive, not {limit}.");

    [DoesNotReturn]
    public static void WrongBackEnd(string what) =>
        throw new InvalidOperationException($"{what} does not match the loop's poller back end.");

    [DoesNotReturn]
    public static void TlsCannotWriteEof(ITransport transport) =>
        throw new NotSupportedException($"{transport} is a TLS transport: it cannot half-close (WriteEof); Close() it instead.");

    [DoesNotReturn]
    public static void SendFileInProgress(ITransport transport) =>
        throw new InvalidOperationException($"A SendFileAsync is already sending through {transport}; await it before starting another.");

    [DoesNotReturn]
    public static void SendFileConnectionLost(ITransport transport, long sent, long count) =>
        throw new IOException($"The connection {transport} closed after {sent} of {count} bytes of the file were sent; the peer did not get the rest.");

    [DoesNotReturn]
    public static void SendFileNotAvailable(ITransport transport) =>
        throw new NotSupportedException($"sendfile(2) is not available for {transport} (only plain sockets on Linux's epoll loop, and regular files, can use it); pass fallback: true to copy the file through the transport instead.");
}
