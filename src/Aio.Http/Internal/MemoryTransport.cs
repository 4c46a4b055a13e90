using System.Net;

namespace Aio.Http.Internal;

/// <summary>
/// The server half of an in-memory connection (TestClient): a transport whose peer is a <see cref="Testing.TestConnection"/>.
/// Each chunk the client sends is delivered in its own loop callback, through the protocol's GetBuffer/BufferUpdated,
/// like a socket's reads; pausing reading holds the chunks back. Writes go straight to the client.
/// </summary>
internal sealed class MemoryTransport : ITransport
{
    private static readonly IPEndPoint s_peer = new(IPAddress.Loopback, 50000);
    private readonly EventLoop _loop;
    private readonly Testing.TestConnection _client;
    private readonly Queue<byte[]> _pending = new();
    private IBaseProtocol _protocol;
    private int _pendingOffset;
    private long _pendingBytes;
    private bool _clientEof;
    private bool _eofDelivered;
    private bool _deliveryScheduled;
    private bool _paused;
    private bool _closing;
    private bool _lost;
    private bool _writeEof;

    public MemoryTransport(EventLoop loop, IBaseProtocol protocol, Testing.TestConnection client)
    {
        _loop = loop;
        _protocol = protocol;
        _client = client;
    }

    public bool IsClosing => _closing;

    public bool IsReading => !_paused && !_closing;

    public IBaseProtocol Protocol => _protocol;

    public bool CanWriteEof => true;

    public void SetProtocol(IBaseProtocol protocol) => _protocol = protocol;

    public object? GetExtraInfo(string name, object? defaultValue = null) => name == "peername" ? s_peer : defaultValue;

    public void Write(ReadOnlySpan<byte> data)
    {
        if (_writeEof)
        {
            throw new InvalidOperationException("Write after WriteEof on the in-memory transport.");
        }
        if (_closing)
        {
            return;
        }
        if (!_clientReading)
        {
            // The client does not read: bytes wait in the "socket", and past the high-water mark the protocol is told to pause.
            _unread.Add(data.ToArray());
            _unreadBytes += data.Length;
            if (!_writingPaused && _unreadBytes > HighWater)
            {
                _writingPaused = true;
                _protocol.PauseWriting();
            }
            return;
        }
        _client.Receive(data);
    }

    private const int HighWater = 64 * 1024;
    private readonly List<byte[]> _unread = new();
    private int _unreadBytes;
    private bool _clientReading = true;
    private bool _writingPaused;

    /// <summary>The client stops (or resumes) reading: the server's writes pile up, then it is told to pause writing.</summary>
    public void SetClientReading(bool reading)
    {
        _clientReading = reading;
        if (!reading)
        {
            return;
        }
        foreach (byte[] chunk in _unread)
        {
            _client.Receive(chunk);
        }
        _unread.Clear();
        _unreadBytes = 0;
        if (_writingPaused)
        {
            _writingPaused = false;
            _protocol.ResumeWriting();
        }
    }

    public void WriteEof()
    {
        _writeEof = true;
        _client.ReceiveEof();
    }

    public void Close() => Lose();

    public void Abort() => Lose();

    public void PauseReading() => _paused = true;

    public void ResumeReading()
    {
        if (_paused)
        {
            _paused = false;
            ScheduleDelivery();
        }
    }

    public int GetWriteBufferSize() => _unreadBytes;

    public (int Low, int High) GetWriteBufferLimits() => (16 * 1024, 64 * 1024);

    public void SetWriteBufferLimits(int? high = null, int? low = null)
    {
    }

    /// <summary>Bytes the client sent that the server has not read yet.</summary>
    public long PendingBytes => _pendingBytes;

    /// <summary>The client sent bytes.</summary>
    public void ClientSend(byte[] chunk)
    {
        if (_closing || _clientEof)
        {
            return;
        }
        _pending.Enqueue(chunk);
        _pendingBytes += chunk.Length;
        ScheduleDelivery();
    }

    /// <summary>The client closed its writing half.</summary>
    public void ClientShutdownWrite()
    {
        _clientEof = true;
        ScheduleDelivery();
    }

    /// <summary>The client vanished (a reset): the server loses the connection.</summary>
    public void ClientAbort() => Lose();

    private void ScheduleDelivery()
    {
        if (!_deliveryScheduled && !_closing)
        {
            _deliveryScheduled = true;
            _loop.CallSoon(static t => t.Deliver(), this);
        }
    }

    /// <summary>Delivers one chunk (a socket read), then schedules the next.</summary>
    private void Deliver()
    {
        _deliveryScheduled = false;
        if (_closing || _paused)
        {
            return;
        }
        if (_pending.Count > 0)
        {
            var protocol = (IBufferedProtocol)_protocol;
            byte[] chunk = _pending.Peek();
            while (_pendingOffset < chunk.Length && !_paused && !_closing)
            {
                Memory<byte> buffer = protocol.GetBuffer(chunk.Length - _pendingOffset);
                int n = Math.Min(buffer.Length, chunk.Length - _pendingOffset);
                chunk.AsSpan(_pendingOffset, n).CopyTo(buffer.Span);
                _pendingOffset += n;
                _pendingBytes -= n;
                protocol.BufferUpdated(n);
            }
            if (_pendingOffset == chunk.Length)
            {
                _pending.Dequeue();
                _pendingOffset = 0;
            }
            if (_pending.Count > 0 || _clientEof)
            {
                ScheduleDelivery();
            }
            return;
        }
        if (_clientEof && !_eofDelivered)
        {
            _eofDelivered = true;
            if (!((IBufferedProtocol)_protocol).EofReceived())
            {
                Lose();
            }
        }
    }

    private void Lose()
    {
        if (_closing)
        {
            return;
        }
        _closing = true;
        _loop.CallSoon(static t => t.ConnectionLost(), this);
    }

    private void ConnectionLost()
    {
        if (_lost)
        {
            return;
        }
        _lost = true;
        _protocol.ConnectionLost(null);
        _client.ReceiveEof();
    }

    public override string ToString() => $"<MemoryTransport{(_closing ? " closing" : "")}{(_paused ? " paused" : "")} pending:{_pending.Count}>";
}
