using System.Net;

namespace Aio.Net;

/// <summary>A UDP endpoint (asyncio's <c>DatagramTransport</c>), made by <see cref="EventLoopNetExtensions.CreateDatagramEndpointAsync"/>. Loop thread only.</summary>
public interface IDatagramTransport
{
    /// <summary>True once closing.</summary>
    bool IsClosing { get; }

    /// <summary>
    /// Sends one datagram to <paramref name="remote"/> (null: to the connected remote address). If the socket
    /// cannot take it now it is queued (see <see cref="GetWriteBufferSize"/>).
    /// </summary>
    /// <exception cref="InvalidOperationException">No remote given and the endpoint is not connected, or the endpoint is connected and another remote is given.</exception>
    void SendTo(ReadOnlySpan<byte> data, EndPoint? remote = null);

    /// <summary>Bytes of datagrams queued and not yet sent.</summary>
    int GetWriteBufferSize();

    /// <summary>"sockname", "peername" (connected endpoints), "socket".</summary>
    object? GetExtraInfo(string name, object? defaultValue = null);

    /// <summary>Closes after the queued datagrams are sent; ConnectionLost(null) follows.</summary>
    void Close();

    /// <summary>Closes at once, dropping queued datagrams.</summary>
    void Abort();
}
