// AioNetworkStream: a System.IO.Stream over a stream pair, for .NET code that speaks Stream (SslStream,
// WebSocket.CreateFromStream, PipeReader.Create, BinaryReader…).
//
// Design note. Reads take what the AioStreamReader has buffered; with nothing there they wait through
// the reader's foreign-waiter hook, and writes wait for the writer's flow control (drain) through the
// protocol's. Both complete through LoopValueTaskSource: on the loop thread, with no SynchronizationContext,
// so the ConfigureAwait(false) continuations of SslStream or ManagedWebSocket run inline on the loop thread
// – never on the thread pool (the trap described in docs/design.md, "How the loop knows the current task"). Foreign code still hops to the pool now and then (an
// AsyncMutex or TaskCompletionSource with RunContinuationsAsynchronously inside ManagedWebSocket, say), so a
// call from another thread is marshalled to the loop (CallSoonThreadSafe) and its result handed back with no
// context installed, which brings the caller's continuation back onto the loop thread. A read without a
// cancellable token inside an Aio task uses the task's token, so cancel scopes reach it.
using System.Runtime.CompilerServices;
using Aio.Internal;
using Aio.Net.Internal;
using Aio.Streams.Internal;

namespace Aio.Net;

/// <summary>
/// A <see cref="Stream"/> over a connection's reader and writer, so <see cref="System.Net.Security.SslStream"/>,
/// <see cref="System.Net.WebSockets.WebSocket.CreateFromStream(Stream, System.Net.WebSockets.WebSocketCreationOptions)"/>
/// or a pipe reader run on the loop. Asynchronous only: synchronous reads would block the loop.
/// </summary>
/// <remarks>Belongs to the loop of its reader and writer: use it on that loop's thread only.</remarks>
public sealed class AioNetworkStream : Stream
{
    private readonly EventLoop _loop;
    private readonly AioStreamReader _reader;
    private readonly AioStreamWriter _writer;
    private readonly bool _ownsConnection;
    private readonly LoopValueTaskSource<int> _read = new();
    private readonly LoopValueTaskSource<int> _drain = new();
    private Memory<byte> _readBuffer;       // the pending read's destination
    private readonly Action _onData;
    private readonly Action _onDrained;

    /// <summary>Wraps <paramref name="reader"/> and <paramref name="writer"/> (from one connection).</summary>
    /// <param name="reader">The connection's reader.</param>
    /// <param name="writer">The connection's writer.</param>
    /// <param name="ownsConnection">Whether disposing the stream closes the writer (the connection). Default true.</param>
    public AioNetworkStream(AioStreamReader reader, AioStreamWriter writer, bool ownsConnection = true)
    {
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentNullException.ThrowIfNull(writer);
        _loop = EventLoop.GetRunningLoop();
        _reader = reader;
        _writer = writer;
        _ownsConnection = ownsConnection;
        _onData = OnData;
        _onDrained = OnDrained;
    }

    /// <inheritdoc/>
    public override bool CanRead => true;

    /// <inheritdoc/>
    public override bool CanWrite => true;

    /// <inheritdoc/>
    public override bool CanSeek => false;

    /// <inheritdoc/>
    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (!OnLoopThread)
        {
            return new ValueTask<int>(OnLoop(() => ReadAsync(buffer, cancellationToken)));
        }
        int n = _reader.TryReadInto(buffer.Span);
        if (n >= 0)
        {
            return new ValueTask<int>(n);
        }
        if (!cancellationToken.CanBeCanceled)
        {
            cancellationToken = Asyncio.CurrentToken;
        }
        cancellationToken.ThrowIfCancellationRequested();
        _readBuffer = buffer;
        ValueTask<int> wait = _read.Start(s_cancelRead, this, cancellationToken);
        _reader.WaitForDataForeign(_onData);
        return wait;
    }

    private static readonly Action<object?> s_cancelRead = static s => Post((AioNetworkStream)s!, static st =>
    {
        var self = (AioNetworkStream)st!;
        self._reader.CancelForeignWait();
        self._read.SetException(new OperationCanceledException("The read was cancelled."));
    });

    private static readonly Action<object?> s_cancelDrain = static s => Post((AioNetworkStream)s!, static st =>
        ((AioNetworkStream)st!)._drain.SetException(new OperationCanceledException("The write was cancelled while waiting for the peer to read.")));

    private static void Post(AioNetworkStream self, Action<object?> action) =>
        self._loop.TryPostItem(new ReadyItem { Kind = ReadyKind.Action, Callback = action, State = self });

    private void OnData()
    {
        if (!_read.Pending)
        {
            return;
        }
        int n;
        try
        {
            n = _reader.TryReadInto(_readBuffer.Span);
        }
        catch (Exception e)
        {
            _readBuffer = default;
            _read.SetException(e);
            return;
        }
        if (n < 0)
        {
            _reader.WaitForDataForeign(_onData);
            return;
        }
        _readBuffer = default;
        _read.SetResult(n);
    }

    /// <inheritdoc/>
    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    /// <inheritdoc/>
    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (!OnLoopThread)
        {
            return new ValueTask(OnLoop(async () => { await WriteAsync(buffer, cancellationToken); return 0; }));
        }
        _writer.Write(buffer.Span);
        return DrainAsync(cancellationToken);
    }

    /// <inheritdoc/>
    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    /// <inheritdoc/>
    public override Task FlushAsync(CancellationToken cancellationToken) =>
        OnLoopThread ? DrainAsync(cancellationToken).AsTask() : OnLoop(async () => { await DrainAsync(cancellationToken); return 0; });

    private bool OnLoopThread => Environment.CurrentManagedThreadId == _loop.OwnerThreadId;

    /// <summary>Runs <paramref name="operation"/> on the loop thread and completes the returned task there with no context installed.</summary>
    private Task<int> OnLoop(Func<ValueTask<int>> operation)
    {
        var result = new TaskCompletionSource<int>();
        _loop.CallSoonThreadSafe(() =>
        {
            ValueTask<int> pending;
            try
            {
                pending = operation();
            }
            catch (Exception e)
            {
                CompleteBare(result, 0, e);
                return;
            }
            if (pending.IsCompleted)
            {
                Finish(result, pending);
                return;
            }
            ConfiguredValueTaskAwaitable<int>.ConfiguredValueTaskAwaiter awaiter = pending.ConfigureAwait(false).GetAwaiter();   // off-loop by design: the source completes on the loop thread, so this runs inline there (see the note at the top)
            awaiter.UnsafeOnCompleted(() => Finish(result, pending));
        });
        return result.Task;
    }

    private static void Finish(TaskCompletionSource<int> result, ValueTask<int> done)
    {
        try
        {
            CompleteBare(result, done.Result, null);
        }
        catch (Exception e)
        {
            CompleteBare(result, 0, e);
        }
    }

    private static void CompleteBare(TaskCompletionSource<int> result, int value, Exception? error)
    {
        SynchronizationContext? saved = SynchronizationContext.Current;
        SynchronizationContext.SetSynchronizationContext(null);
        try
        {
            if (error is null)
            {
                result.TrySetResult(value);
            }
            else
            {
                result.TrySetException(error);
            }
        }
        finally
        {
            SynchronizationContext.SetSynchronizationContext(saved);
        }
    }

    private ValueTask DrainAsync(CancellationToken cancellationToken)
    {
        if (_writer.Protocol.TryDrainForeign(_onDrained))
        {
            return ValueTask.CompletedTask;
        }
        if (!cancellationToken.CanBeCanceled)
        {
            cancellationToken = Asyncio.CurrentToken;
        }
        return new ValueTask(_drain.Start(s_cancelDrain, this, cancellationToken).AsTask());
    }

    private void OnDrained()
    {
        try
        {
            if (_writer.Protocol.TryDrainForeign(_onDrained))
            {
                _drain.SetResult(0);
            }
        }
        catch (Exception e)
        {
            _drain.SetException(e);
        }
    }

    /// <summary>Writes without waiting for flow control (the bytes are buffered by the transport).</summary>
    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    /// <summary>Writes without waiting for flow control (the bytes are buffered by the transport).</summary>
    public override void Write(ReadOnlySpan<byte> buffer)
    {
        if (OnLoopThread)
        {
            _writer.Write(buffer);
            return;
        }
        byte[] copy = buffer.ToArray();
        _loop.CallSoonThreadSafe(() => _writer.Write(copy));
    }

    /// <summary>Not supported: a synchronous read would block the loop. Use <see cref="ReadAsync(Memory{byte}, CancellationToken)"/>.</summary>
    public override int Read(byte[] buffer, int offset, int count) =>
        throw new NotSupportedException("AioNetworkStream reads asynchronously only (ReadAsync): a synchronous read would block the event loop.");

    /// <summary>Does nothing: writes are handed to the transport at once. <see cref="FlushAsync(CancellationToken)"/> waits for flow control.</summary>
    public override void Flush()
    {
    }

    /// <inheritdoc/>
    public override long Length => throw new NotSupportedException();

    /// <inheritdoc/>
    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    /// <inheritdoc/>
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    /// <inheritdoc/>
    public override void SetLength(long value) => throw new NotSupportedException();

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
        if (disposing && _ownsConnection)
        {
            if (OnLoopThread)
            {
                if (!_writer.IsClosing)
                {
                    _writer.Close();
                }
            }
            else if (!_loop.IsClosed)
            {
                _loop.CallSoonThreadSafe(() =>
                {
                    if (!_writer.IsClosing)
                    {
                        _writer.Close();
                    }
                });
            }
        }
        base.Dispose(disposing);
    }

    /// <summary>asyncio-style: <c>&lt;AioNetworkStream writer=…&gt;</c>.</summary>
    public override string ToString() => $"<AioNetworkStream {_writer}>";
}
