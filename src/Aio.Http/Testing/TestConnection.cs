using System.Diagnostics;
using System.Text;
using Aio.Http.Internal;
using Aio.LowLevel;

namespace Aio.Http.Testing;

/// <summary>
/// A raw in-memory connection to an application (<see cref="TestClient.Connect"/>): send any bytes, split any way,
/// and read what the server answers. The server side runs the real parser and connection code.
/// </summary>
/// <remarks>Belongs to its loop. Each <see cref="Send(ReadOnlySpan{byte})"/> reaches the server as one read.</remarks>
[DebuggerDisplay("{ToString(),nq}")]
public sealed class TestConnection
{
    private byte[] _received = new byte[4096];
    private int _length;
    private readonly ParkingLot _readers;
    private int _readOffset;
    private MemoryTransport? _transport;

    internal TestConnection()
    {
        _readers = new ParkingLot(this);
    }

    internal void Attach(MemoryTransport transport) => _transport = transport;

    /// <summary>True once the server closed the connection (or it was aborted).</summary>
    public bool IsClosed { get; private set; }

    /// <summary>Bytes sent that the server has not read yet: they pile up while the server applies back-pressure (reading paused).</summary>
    public long PendingBytes => _transport!.PendingBytes;

    /// <summary>Sends bytes; the server reads them as one read, on a later loop iteration.</summary>
    public void Send(ReadOnlySpan<byte> data) => _transport!.ClientSend(data.ToArray());

    /// <summary>Sends text as Latin-1 bytes.</summary>
    public void Send(string text) => Send(Encoding.Latin1.GetBytes(text));

    /// <summary>
    /// Stops reading what the server sends (a slow client): the server's writes wait in the connection, and past 64 KiB
    /// the server is told to pause writing (a streamed response's writes then wait). <see cref="ResumeReading"/> undoes it.
    /// </summary>
    public void PauseReading() => _transport!.SetClientReading(false);

    /// <summary>Reads again: delivers what waited and lets the server write on.</summary>
    public void ResumeReading() => _transport!.SetClientReading(true);

    /// <summary>Closes the client's writing half (the server reads EOF).</summary>
    public void ShutdownWrite() => _transport!.ClientShutdownWrite();

    /// <summary>Drops the connection as a client that vanished would (the server's ConnectionLost).</summary>
    public void Abort() => _transport!.ClientAbort();

    internal void Receive(ReadOnlySpan<byte> data)
    {
        if (_length + data.Length > _received.Length)
        {
            Array.Resize(ref _received, Math.Max(_received.Length * 2, _length + data.Length));
        }
        data.CopyTo(_received.AsSpan(_length));
        _length += data.Length;
        _readers.UnparkAll();
    }

    internal void ReceiveEof()
    {
        IsClosed = true;
        _readers.UnparkAll();
    }

    /// <summary>Everything received and not yet read by <see cref="ReadResponseAsync"/>, as Latin-1 (does not consume).</summary>
    public string Peek() => Encoding.Latin1.GetString(_received, _readOffset, _length - _readOffset);

    /// <summary>Waits until the server closes the connection and returns everything not yet read, as Latin-1.</summary>
    public async Task<string> ReadToEndAsync()
    {
        while (!IsClosed)
        {
            await _readers.ParkAsync();
        }
        string rest = Peek();
        _readOffset = _length;
        return rest;
    }

    /// <summary>
    /// Reads exactly <paramref name="count"/> bytes that follow what was read (raw bytes after an upgrade: WebSocket frames).
    /// </summary>
    /// <exception cref="IOException">The server closed the connection before <paramref name="count"/> bytes arrived.</exception>
    public async Task<byte[]> ReadExactlyAsync(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        while (_length - _readOffset < count)
        {
            if (IsClosed)
            {
                throw new IOException($"The server closed the connection after {_length - _readOffset} of {count} bytes.");
            }
            await _readers.ParkAsync();
        }
        byte[] bytes = _received.AsSpan(_readOffset, count).ToArray();
        _readOffset += count;
        return bytes;
    }

    /// <summary>
    /// Reads the next response (an interim 1xx one too). <paramref name="toHead"/>: the request was HEAD (no body
    /// follows the headers).
    /// </summary>
    /// <exception cref="IOException">The server closed the connection before a whole response.</exception>
    public async Task<TestResponse> ReadResponseAsync(bool toHead = false)
    {
        while (true)
        {
            TestResponse? r = TryParse(toHead, out int consumed);
            if (r is not null)
            {
                _readOffset += consumed;
                return r;
            }
            if (IsClosed)
            {
                throw new IOException($"The server closed the connection before a whole response; received: \"{Peek()}\".");
            }
            await _readers.ParkAsync();
        }
    }

    private TestResponse? TryParse(bool toHead, out int consumed)
    {
        consumed = 0;
        ReadOnlySpan<byte> data = _received.AsSpan(_readOffset, _length - _readOffset);
        int end = data.IndexOf("\r\n\r\n"u8);
        if (end < 0)
        {
            return null;
        }
        string[] lines = Encoding.Latin1.GetString(data[..end]).Split("\r\n");
        string[] status = lines[0].Split(' ', 3);
        var headers = new List<KeyValuePair<string, string>>();
        for (int i = 1; i < lines.Length; i++)
        {
            int colon = lines[i].IndexOf(':', StringComparison.Ordinal);
            headers.Add(new(lines[i][..colon], lines[i][(colon + 1)..].Trim()));
        }
        int code = int.Parse(status[1], System.Globalization.CultureInfo.InvariantCulture);
        string reason = status.Length > 2 ? status[2] : "";
        int pos = end + 4;
        string? Header(string name) => headers.Find(h => string.Equals(h.Key, name, StringComparison.OrdinalIgnoreCase)).Value;
        byte[] body;
        if (toHead || code < 200 || code == 204 || code == 304)
        {
            body = [];
        }
        else if (Header("Content-Length") is string cl)
        {
            int n = int.Parse(cl, System.Globalization.CultureInfo.InvariantCulture);
            if (data.Length - pos < n)
            {
                return null;
            }
            body = data.Slice(pos, n).ToArray();
            pos += n;
        }
        else if (string.Equals(Header("Transfer-Encoding"), "chunked", StringComparison.OrdinalIgnoreCase))
        {
            var ms = new MemoryStream();
            while (true)
            {
                int lineEnd = data[pos..].IndexOf("\r\n"u8);
                if (lineEnd < 0)
                {
                    return null;
                }
                int size = int.Parse(Encoding.ASCII.GetString(data.Slice(pos, lineEnd)), System.Globalization.NumberStyles.HexNumber, System.Globalization.CultureInfo.InvariantCulture);
                int dataStart = pos + lineEnd + 2;
                if (size == 0)
                {
                    int trailerEnd = data[(dataStart - 2)..].IndexOf("\r\n\r\n"u8);
                    if (trailerEnd < 0)
                    {
                        return null;
                    }
                    pos = dataStart - 2 + trailerEnd + 4;
                    break;
                }
                if (data.Length - dataStart < size + 2)
                {
                    return null;
                }
                ms.Write(data.Slice(dataStart, size));
                pos = dataStart + size + 2;
            }
            body = ms.ToArray();
        }
        else
        {
            if (!IsClosed)
            {
                return null;   // the body ends with the connection
            }
            body = data[pos..].ToArray();
            pos = data.Length;
        }
        consumed = pos;
        return new TestResponse(code, reason, headers, body);
    }

    /// <inheritdoc/>
    public override string ToString() => $"<TestConnection received:{_length} read:{_readOffset}{(IsClosed ? " closed" : "")}>";
}
