using System.Diagnostics.CodeAnalysis;
using Aio.Net;

namespace Aio.Streams.Internal;

/// <summary>The error messages of the stream layer (transports, protocols, stream readers and writers) shared by sockets and pipes; each says what happened and what to do.</summary>
internal static class StreamThrowHelper
{
    [DoesNotReturn]
    public static void NotAStreamProtocol(object protocol) =>
        throw new ArgumentException(
            $"{protocol} implements neither IProtocol nor IBufferedProtocol; a stream transport needs one of them.", nameof(protocol));

    [DoesNotReturn]
    public static void WriteDuringSendFile(ITransport transport) =>
        throw new InvalidOperationException($"Cannot write to {transport} while SendFileAsync is sending a file through it; await the SendFileAsync first, then write.");

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
}
