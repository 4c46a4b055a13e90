using System.Diagnostics.CodeAnalysis;

namespace Aio.Net.Internal;

/// <summary>Every error message of the networking layer in one place; each says what happened and what to do.</summary>
internal static class NetThrowHelper
{
    [DoesNotReturn]
    public static void NotAStreamProtocol(object protocol) =>
        throw new ArgumentException(
            $"{protocol} implements neither IProtocol nor IBufferedProtocol; a stream transport needs one of them.", nameof(protocol));

    [DoesNotReturn]
    public static void WriteAfterEof(ITransport transport) =>
        throw new InvalidOperationException($"Cannot write to {transport} after WriteEof(); the sending half is closed.");

    [DoesNotReturn]
    public static void ReadOnlyTransport(ITransport transport) =>
        throw new NotSupportedException($"{transport} is the read end of a pipe: it cannot be written to. Write to the process's Stdin instead.");

    [DoesNotReturn]
    public static void EmptyProtocolBuffer(IBufferedProtocol protocol) =>
        throw new InvalidOperationException($"{protocol}.GetBuffer() returned an empty buffer; return at least one byte of memory.");

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
    public static void EmptySeparator() =>
        throw new ArgumentException("A separator must contain at least one byte.", "separator");

    [DoesNotReturn]
    public static void NegativeCount(int n) =>
        throw new ArgumentOutOfRangeException(nameof(n), n, "ReadExactlyAsync needs a count of 0 or more.");

    [DoesNotReturn]
    public static void ConcurrentRead(AioStreamReader reader, string member) =>
        throw new InvalidOperationException(
            $"{member} was called on {reader} while another task is already waiting for data from it; one reader at a time.");

    public static IOException ConnectionLost(Exception? inner) =>
        new("Connection lost: the peer reset or closed the connection, or it was closed locally.", inner);

    public static IOException ConnectionResetClosed() =>
        new("Connection closed: the writer was closed (or the connection lost) before this drain; open a new connection.");

    [DoesNotReturn]
    public static void WrongBackEnd(string what) =>
        throw new InvalidOperationException($"{what} does not match the loop's poller back end.");

    [DoesNotReturn]
    public static void TlsCannotWriteEof(ITransport transport) =>
        throw new NotSupportedException($"{transport} is a TLS transport: it cannot half-close (WriteEof); Close() it instead.");
}
