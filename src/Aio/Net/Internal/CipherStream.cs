using Aio.Internal;
using Aio.Streams.Internal;

namespace Aio.Net.Internal;

/// <summary>
/// The <see cref="System.IO.Stream"/> an <see cref="System.Net.Security.SslStream"/> reads ciphertext from and
/// writes ciphertext to: reads come from what the raw transport delivered (a pending read completes through
/// the ready ring, on the loop thread – see <see cref="LoopValueTaskSource{T}"/>); writes go to the raw
/// transport at once (its own buffer and water marks apply). Loop thread only.
/// </summary>
internal sealed class CipherStream : Stream
{
    private const int PauseAbove = 256 * 1024;   // ciphertext bytes buffered before the raw transport is paused

    private static readonly Action<object?> s_completeRead = static s => ((CipherStream)s!).CompleteRead();

    private readonly EventLoop _loop;
    private readonly LoopValueTaskSource<int> _read = new();
    private byte[] _buffer = new byte[16 * 1024];
    private int _start;
    private int _count;
    private bool _eof;
    private Exception? _error;
    private Memory<byte> _destination;   // the pending read's buffer
    private bool _completionQueued;
    private bool _rawPaused;

    public CipherStream(EventLoop loop) => _loop = loop;

    public ITransport? Raw { get; set; }

    public void Feed(ReadOnlySpan<byte> data)
    {
        if (_buffer.Length - _start - _count < data.Length)
        {
            if (_buffer.Length - _count >= data.Length)
            {
                Buffer.BlockCopy(_buffer, _start, _buffer, 0, _count);
            }
            else
            {
                var bigger = new byte[Math.Max(_buffer.Length * 2, _count + data.Length)];
                Buffer.BlockCopy(_buffer, _start, bigger, 0, _count);
                _buffer = bigger;
            }
            _start = 0;
        }
        data.CopyTo(_buffer.AsSpan(_start + _count));
        _count += data.Length;
        if (_count > PauseAbove && !_rawPaused && Raw is { } raw)
        {
            _rawPaused = true;
            raw.PauseReading();
        }
        QueueCompletion();
    }

    public void FeedEof()
    {
        _eof = true;
        QueueCompletion();
    }

    /// <summary>The raw connection is gone: with an error, pending and later reads fail; cleanly, they read EOF.</summary>
    public void Fail(Exception? error)
    {
        if (error is null)
        {
            _eof = true;
        }
        else
        {
            _error ??= error;
        }
        QueueCompletion();
    }

    private void QueueCompletion()
    {
        if (_read.Pending && !_completionQueued)
        {
            _completionQueued = true;
            _loop.CallSoonInternal(s_completeRead, this);
        }
    }

    private void CompleteRead()
    {
        _completionQueued = false;
        if (!_read.Pending)
        {
            return;
        }
        if (_count > 0)
        {
            _read.SetResult(Take(_destination.Span));
        }
        else if (_error is not null && !_eof)
        {
            _read.SetException(new IOException(_error.Message, _error));
        }
        else if (_eof || _error is not null)
        {
            _read.SetResult(0);
        }
    }

    private int Take(Span<byte> destination)
    {
        int n = Math.Min(destination.Length, _count);
        _buffer.AsSpan(_start, n).CopyTo(destination);
        _start += n;
        _count -= n;
        if (_count == 0)
        {
            _start = 0;
        }
        if (_rawPaused && _count <= PauseAbove / 2 && Raw is { } raw)
        {
            _rawPaused = false;
            raw.ResumeReading();
        }
        return n;
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_count > 0)
        {
            return new ValueTask<int>(Take(buffer.Span));
        }
        if (_eof)
        {
            return new ValueTask<int>(0);
        }
        if (_error is not null)
        {
            return ValueTask.FromException<int>(new IOException(_error.Message, _error));
        }
        _destination = buffer;
        return _read.Start(static s =>
        {
            var self = (CipherStream)s!;
            self._loop.TryPostItem(new ReadyItem
            {
                Kind = ReadyKind.Action,
                Callback = (Action<object?>)(static st => ((CipherStream)st!)._read.SetException(new OperationCanceledException())),
                State = self,
            });
        }, this, cancellationToken);
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) =>
        throw new NotSupportedException("The TLS layer of Aio reads asynchronously only; a synchronous read would block the loop.");

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        if (Raw is null)
        {
            throw new IOException("The TLS stream has no connection under it.");
        }
        Raw.Write(buffer);
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        Write(buffer.Span);
        return ValueTask.CompletedTask;
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
    {
        Write(buffer.AsSpan(offset, count));
        return Task.CompletedTask;
    }

    public override void Flush()
    {
    }

    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();
}
