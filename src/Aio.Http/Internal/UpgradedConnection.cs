namespace Aio.Http.Internal;

/// <summary>
/// The hook for protocols that take a connection over after a 101 Switching Protocols (WebSockets):
/// the transport, and the bytes the client sent after the request head that the HTTP connection already received.
/// The taker installs its own protocol with <see cref="ITransport.SetProtocol"/> and feeds it
/// <see cref="ReceivedBytes"/> first; the HTTP connection no longer reads or writes. A taker that installs its own
/// protocol calls <see cref="Lost"/> from its ConnectionLost (the HTTP connection then leaves the server's registry),
/// and may set <see cref="OnShutdown"/> to hear of a graceful shutdown. When the callback returns, the connection is closed.
/// </summary>
internal sealed class UpgradedConnection
{
    public UpgradedConnection(ITransport transport, byte[] receivedBytes, Action<bool> lost)
    {
        Transport = transport;
        ReceivedBytes = receivedBytes;
        Lost = lost;
    }

    public ITransport Transport { get; }

    public byte[] ReceivedBytes { get; }

    /// <summary>The taker's protocol lost the connection; the argument says whether to cancel the request's scope (false when the taker already told its handler why).</summary>
    public Action<bool> Lost { get; }

    /// <summary>Called when the server begins a graceful shutdown (the "notify" phase).</summary>
    public Action? OnShutdown { get; set; }
}
