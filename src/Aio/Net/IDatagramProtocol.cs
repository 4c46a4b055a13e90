using System.Net;

namespace Aio.Net;

/// <summary>
/// A UDP protocol (asyncio's <c>DatagramProtocol</c>): ConnectionMade once, then DatagramReceived and
/// ErrorReceived in any number, then ConnectionLost once. Every call happens on the loop thread.
/// </summary>
public interface IDatagramProtocol
{
    /// <summary>The endpoint is ready; keep <paramref name="transport"/> to send.</summary>
    void ConnectionMade(IDatagramTransport transport);

    /// <summary>A datagram arrived from <paramref name="remote"/>. <paramref name="data"/> is valid only during the call.</summary>
    void DatagramReceived(ReadOnlySpan<byte> data, EndPoint remote);

    /// <summary>A send or receive failed (an ICMP "port unreachable" for a connected endpoint, say). Default: nothing.</summary>
    void ErrorReceived(Exception exception)
    {
    }

    /// <summary>The endpoint is closed; <paramref name="exception"/> is null after <see cref="IDatagramTransport.Close"/>.</summary>
    void ConnectionLost(Exception? exception);
}
