using System.Diagnostics;
using System.Net.Security;
using Aio.Net.Internal;
using Aio.Streams.Internal;

namespace Aio.Net;

/// <summary>
/// Writes to a connection with asyncio's <c>StreamWriter</c> methods. <see cref="Write"/> never blocks; pair it
/// with <see cref="DrainAsync"/>, which waits while the transport's buffer is over its high-water mark.
/// </summary>
/// <remarks>Belongs to its loop: use it on the loop's thread only. <c>await using</c> closes it and waits.</remarks>
[DebuggerDisplay("{ToString(),nq}")]
public sealed class AioStreamWriter : IAsyncDisposable
{
    private readonly EventLoop _loop;
    private readonly StreamReaderProtocol _protocol;
    private readonly AioStreamReader? _reader;
    private ITransport _transport;

    internal AioStreamWriter(EventLoop loop, ITransport transport, StreamReaderProtocol protocol, AioStreamReader? reader)
    {
        _loop = loop;
        _transport = transport;
        _protocol = protocol;
        _reader = reader;
    }

    /// <summary>The transport underneath.</summary>
    public ITransport Transport => _transport;

    internal StreamReaderProtocol Protocol => _protocol;

    /// <summary>True once the writer (or its transport) is closing.</summary>
    public bool IsClosing => _transport.IsClosing;

    /// <summary>True if <see cref="WriteEof"/> is supported (not over TLS).</summary>
    public bool CanWriteEof => _transport.CanWriteEof;

    /// <summary>Sends <paramref name="data"/> (what the socket does not take now is buffered). Follow with <see cref="DrainAsync"/>.</summary>
    public void Write(ReadOnlySpan<byte> data)
    {
        _loop.CheckThread(nameof(Write));
        _transport.Write(data);
    }

    /// <summary>Writes each of <paramref name="lines"/> in order (no separator is added).</summary>
    public void WriteLines(IEnumerable<ReadOnlyMemory<byte>> lines)
    {
        ArgumentNullException.ThrowIfNull(lines);
        foreach (ReadOnlyMemory<byte> line in lines)
        {
            Write(line.Span);
        }
    }

    /// <summary>Closes the writing half once the buffer is flushed; the peer reads EOF.</summary>
    public void WriteEof()
    {
        _loop.CheckThread(nameof(WriteEof));
        _transport.WriteEof();
    }

    /// <summary>
    /// Waits until the transport's write buffer is back at its low-water mark, if it went over the high one
    /// (asyncio's <c>drain</c>); returns at once otherwise.
    /// </summary>
    /// <exception cref="IOException">The connection was lost or closed (never hangs on a dead peer).</exception>
    /// <exception cref="CancelledError">The task was cancelled while waiting.</exception>
    public Task DrainAsync()
    {
        _loop.CheckThread(nameof(DrainAsync));
        if (_reader?.Exception() is { } error)
        {
            return Task.FromException(error);
        }
        if (!_transport.IsClosing && !_protocol.ConnectionIsLost && !_protocol.IsPaused)
        {
            return Task.CompletedTask;   // fast path: nothing to wait for
        }
        return DrainSlowAsync();
    }

    private async Task DrainSlowAsync()
    {
        if (_transport.IsClosing)
        {
            // Let ConnectionLost run (it is queued), so the error below is the real one (asyncio's sleep(0)).
            await Asyncio.Yield();
        }
        if (_transport.IsClosing && !_protocol.ConnectionIsLost)
        {
            throw StreamThrowHelper.ConnectionResetClosed();
        }
        await _protocol.DrainHelperAsync();
    }

    /// <summary>Closes the connection after flushing the buffer; see <see cref="WaitClosedAsync"/>.</summary>
    public void Close()
    {
        _loop.CheckThread(nameof(Close));
        _transport.Close();
    }

    /// <summary>Waits until the connection is closed (its ConnectionLost ran).</summary>
    /// <exception cref="IOException">The connection ended with an error.</exception>
    public Task WaitClosedAsync() => _protocol.WaitClosedAsync();

    /// <summary>Information about the connection; see <see cref="ITransport.GetExtraInfo"/>.</summary>
    public object? GetExtraInfo(string name, object? defaultValue = null) => _transport.GetExtraInfo(name, defaultValue);

    /// <summary>
    /// Upgrades the connection to TLS as a client (asyncio 3.11's <c>start_tls</c>): drains, runs the handshake,
    /// and from then on the reader and this writer carry plaintext over TLS.
    /// </summary>
    public async Task StartTlsAsync(SslClientAuthenticationOptions options, double handshakeTimeout = 60.0)
    {
        await DrainAsync();
        ITransport tls = await _loop.StartTlsAsync(_transport, _protocol, options, handshakeTimeout);
        _transport = tls;
        _protocol.ReplaceTransport(tls);
    }

    /// <summary>Upgrades the connection to TLS as a server; see <see cref="StartTlsAsync(SslClientAuthenticationOptions, double)"/>.</summary>
    public async Task StartTlsAsync(SslServerAuthenticationOptions options, double handshakeTimeout = 60.0)
    {
        await DrainAsync();
        ITransport tls = await _loop.StartTlsAsync(_transport, _protocol, options, handshakeTimeout);
        _transport = tls;
        _protocol.ReplaceTransport(tls);
    }

    /// <summary>Closes the writer and waits until the connection is closed; errors of the close are swallowed.</summary>
    public async ValueTask DisposeAsync()
    {
        Close();
        try
        {
            await WaitClosedAsync();
        }
        catch (IOException)
        {
            // The connection ended with an error; disposing only needs it ended.
        }
    }

    /// <summary>asyncio-style: <c>&lt;AioStreamWriter transport=&lt;TcpTransport …&gt; reader=&lt;AioStreamReader&gt;&gt;</c>.</summary>
    public override string ToString() =>
        _reader is null ? $"<AioStreamWriter transport={_transport}>" : $"<AioStreamWriter transport={_transport} reader={_reader}>";
}
