namespace Aio.Net;

/// <summary>
/// A bidirectional byte stream over a connection (asyncio's <c>Transport</c>): TCP, Unix socket or TLS.
/// Created by the loop (<see cref="EventLoopNetExtensions.CreateConnectionAsync"/>, <see cref="EventLoopNetExtensions.CreateServerAsync"/>)
/// and handed to the protocol in <see cref="IBaseProtocol.ConnectionMade"/>.
/// </summary>
/// <remarks>
/// Belongs to its loop: use it on the loop's thread only. Writes never block: what the socket does not take
/// at once is buffered, and the protocol is told to pause writing while the buffer is over the high-water mark.
/// </remarks>
public interface ITransport
{
    /// <summary>True once <see cref="Close"/> or <see cref="Abort"/> was called or the connection was lost.</summary>
    bool IsClosing { get; }

    /// <summary>True while the transport delivers received data (not paused, not closing).</summary>
    bool IsReading { get; }

    /// <summary>The protocol the transport calls.</summary>
    IBaseProtocol Protocol { get; }

    /// <summary>Switches the protocol the transport calls from now on (used by TLS upgrades and stream adapters).</summary>
    void SetProtocol(IBaseProtocol protocol);

    /// <summary>
    /// Information about the connection: "peername" and "sockname" (<see cref="System.Net.EndPoint"/>),
    /// "socket" (<see cref="System.Net.Sockets.Socket"/>), and on TLS "sslstream", "peercert". Returns
    /// <paramref name="defaultValue"/> for an unknown name.
    /// </summary>
    object? GetExtraInfo(string name, object? defaultValue = null);

    /// <summary>
    /// Sends <paramref name="data"/>: as much as the socket takes now, the rest is buffered (the span is copied).
    /// After <see cref="Close"/> or a lost connection the data is dropped.
    /// </summary>
    /// <exception cref="InvalidOperationException"><see cref="WriteEof"/> was called before.</exception>
    void Write(ReadOnlySpan<byte> data);

    /// <summary>True if <see cref="WriteEof"/> is supported (TCP and Unix sockets: yes; TLS: no).</summary>
    bool CanWriteEof { get; }

    /// <summary>Closes the writing half once the buffer is flushed; the peer reads EOF. Reading goes on.</summary>
    void WriteEof();

    /// <summary>Flushes the write buffer, then closes the connection; <see cref="IBaseProtocol.ConnectionLost"/> gets null. Idempotent.</summary>
    void Close();

    /// <summary>Closes the connection at once, discarding the write buffer; <see cref="IBaseProtocol.ConnectionLost"/> gets null.</summary>
    void Abort();

    /// <summary>Stops delivering received data until <see cref="ResumeReading"/> (the kernel then applies TCP back-pressure). Idempotent.</summary>
    void PauseReading();

    /// <summary>Resumes delivering received data. Idempotent.</summary>
    void ResumeReading();

    /// <summary>Bytes written but not yet taken by the socket.</summary>
    int GetWriteBufferSize();

    /// <summary>The write buffer's (low, high) water marks in bytes.</summary>
    (int Low, int High) GetWriteBufferLimits();

    /// <summary>
    /// Sets the water marks: over <paramref name="high"/> bytes buffered the protocol's
    /// <see cref="IBaseProtocol.PauseWriting"/> is called, back at <paramref name="low"/> or below its
    /// <see cref="IBaseProtocol.ResumeWriting"/>. Defaults: high 64 KiB; low a quarter of high.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">low is negative or above high.</exception>
    void SetWriteBufferLimits(int? high = null, int? low = null);
}
