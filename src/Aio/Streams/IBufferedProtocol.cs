namespace Aio.Net;

/// <summary>
/// A stream protocol that lends the transport its own memory to receive into (asyncio's
/// <c>BufferedProtocol</c>): no copy between the socket and the protocol. See <see cref="IBaseProtocol"/>
/// for the call order.
/// </summary>
public interface IBufferedProtocol : IBaseProtocol
{
    /// <summary>
    /// Returns the memory the next receive writes into. <paramref name="sizeHint"/> is the size the transport
    /// would like, or -1 for no preference; the memory must not be empty.
    /// </summary>
    Memory<byte> GetBuffer(int sizeHint);

    /// <summary>The first <paramref name="bytes"/> bytes of the memory last returned by <see cref="GetBuffer"/> were filled.</summary>
    void BufferUpdated(int bytes);

    /// <summary>The peer closed its writing half; return true to keep the transport open for writing. Default: false.</summary>
    bool EofReceived() => false;
}
