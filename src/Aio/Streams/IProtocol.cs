namespace Aio.Net;

/// <summary>
/// A stream protocol that receives data as it arrives (asyncio's <c>Protocol</c>); the fast path of Aio's
/// networking. See <see cref="IBaseProtocol"/> for the call order.
/// </summary>
public interface IProtocol : IBaseProtocol
{
    /// <summary>
    /// Bytes arrived. <paramref name="data"/> is valid only during the call (the transport reuses its receive
    /// buffer): copy what must outlive it.
    /// </summary>
    void DataReceived(ReadOnlySpan<byte> data);

    /// <summary>
    /// The peer closed its writing half. Return true to keep the transport open for writing (half-close;
    /// close it yourself later), false to let the transport close itself. Default: false.
    /// </summary>
    bool EofReceived() => false;
}
