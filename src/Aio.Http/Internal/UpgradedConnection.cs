namespace Aio.Http.Internal;

/// <summary>
/// The hook for protocols that take a connection over after a 101 Switching Protocols (WebSockets, the next step):
/// the transport, and the bytes the client sent after the request head that the HTTP connection already received.
/// The taker installs its own protocol with <see cref="ITransport.SetProtocol"/> and feeds it
/// <see cref="ReceivedBytes"/> first; the HTTP connection no longer reads or writes. When the callback returns, the
/// connection is closed.
/// </summary>
internal sealed class UpgradedConnection
{
    public UpgradedConnection(ITransport transport, byte[] receivedBytes)
    {
        Transport = transport;
        ReceivedBytes = receivedBytes;
    }

    public ITransport Transport { get; }

    public byte[] ReceivedBytes { get; }
}
