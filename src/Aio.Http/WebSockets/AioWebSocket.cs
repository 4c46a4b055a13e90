// AioWebSocket: a System.Net.WebSockets.WebSocket driven from the loop.
//
// Design note. Framing, masking, ping/pong and the heartbeat (KeepAliveInterval/KeepAliveTimeout) are .NET's
// WebSocket; this class adds the message API both sides of Aio.Http share (whole messages, JSON, a close message
// instead of a zero-length read, async iteration), a size limit checked as fragments arrive, serialized sends (any
// task may send; .NET allows one send at a time) and the loop's cancellation: every await passes the ambient scope's
// token. .NET aborts a WebSocket whose send, or whose receive in the middle of a frame, is cancelled (the connection
// cannot be resynchronized): it is then Aborted, the same as a connection dropped by a timeout, and what aiohttp does.
// A server-side receive cancelled before its message's first frame has arrived has read nothing: the WebSocket stays open.
// The owner (a ClientSession's place in its limits, or the server's connection) is told once when the socket ends.
//
// The server's hot path (W9: one receive and one send per message) allocates only the received message: a receive
// first waits in the connection's own parking lot until a whole frame is buffered (WebSocketServerStream.ReceiveReady),
// so .NET's receive then runs to the end without suspending, and the receive itself is a pooled ValueTask state
// machine (ReceiveAsync's Task is made only for a caller of that API); a receive that must still wait inside .NET (a
// frame split across packets) parks the task in a reusable LoopBoundWait (no future, no state machine box); a send that cannot
// wait (the connection is not paused for writing) passes no token to .NET so it takes ManagedWebSocket's synchronous
// path, and text is encoded into a pooled buffer. SendTextAsync(ReadOnlyMemory<byte>) sends UTF-8 as it is (checked,
// not decoded), so an echo or a relay of a received message never makes a string.
using System.Buffers;
using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Aio.Http.Client.Internal;

namespace Aio.Http;

/// <summary>
/// A WebSocket on the loop with aiohttp's message API: <see cref="ReceiveAsync"/> whole messages (or
/// <c>await foreach</c>), <see cref="SendTextAsync(string)"/>/<see cref="SendBytesAsync"/>/<see cref="SendJsonAsync{T}"/>,
/// <see cref="CloseAsync"/>. The same type serves the client (<see cref="ClientSession.WebSocketAsync"/>) and the server.
/// </summary>
/// <remarks>A WebSocket belongs to the loop it was opened on: use it from that loop's tasks. Any number of tasks may send; one receives.</remarks>
[DebuggerDisplay("{ToString(),nq}")]
public sealed class AioWebSocket : IAsyncDisposable, IAsyncEnumerable<WebSocketMessage>
{
    private readonly WebSocket _socket;
    private readonly AioWebSocketOptions _options;
    private readonly EventLoop _loop;
    private readonly AioLock _sendLock = new();
    private readonly string _peer;
    private Action? _onEnd;                 // the owner's release, called once when the socket ends
    private readonly Internal.WebSocketServerStream? _guard;   // server side: the connection under the socket, with its checks
    private readonly Internal.LoopBoundWait<ValueWebSocketReceiveResult>? _receiveWait;   // server side: the receive's reusable wait
    private byte[] _buffer = new byte[16 * 1024];

    private AioWebSocket(WebSocket socket, AioWebSocketOptions options, string peer, Action? onEnd, Internal.WebSocketServerStream? guard = null)
    {
        _guard = guard;
        _socket = socket;
        _options = options;
        _loop = EventLoop.GetRunningLoop();
        if (guard is not null)
        {
            _receiveWait = new Internal.LoopBoundWait<ValueWebSocketReceiveResult>(_loop, this);
        }
        _peer = peer;
        _onEnd = onEnd;
    }

    /// <summary>
    /// Wraps a WebSocket already open (a server's accepted one, or one made by <see cref="WebSocket.CreateFromStream(Stream, WebSocketCreationOptions)"/>).
    /// Its heartbeat is what it was created with; <paramref name="options"/> gives the size limit and close timeout.
    /// </summary>
    public static AioWebSocket FromWebSocket(WebSocket socket, AioWebSocketOptions? options = null, string? peer = null)
    {
        ArgumentNullException.ThrowIfNull(socket);
        return new AioWebSocket(socket, options ?? new AioWebSocketOptions(), peer ?? "peer", null);
    }

    internal static AioWebSocket ForClient(WebSocket socket, AioWebSocketOptions options, string peer, Action onEnd) =>
        new(socket, options, peer, onEnd);

    internal static AioWebSocket ForServer(WebSocket socket, AioWebSocketOptions options, string peer, Internal.WebSocketServerStream guard) =>
        new(socket, options, peer, null, guard);

    /// <summary>The underlying .NET WebSocket.</summary>
    public WebSocket WebSocket => _socket;

    /// <summary>The WebSocket's state (Open, CloseSent, CloseReceived, Closed, Aborted).</summary>
    public WebSocketState State => _socket.State;

    /// <summary>Whether the WebSocket is done: closed either way or aborted (aiohttp's <c>closed</c>).</summary>
    public bool IsClosed => _socket.State is WebSocketState.Closed or WebSocketState.Aborted;

    /// <summary>The close status the peer sent, once it did (aiohttp's <c>close_code</c>).</summary>
    public WebSocketCloseStatus? CloseStatus => _socket.CloseStatus;

    /// <summary>The sub-protocol agreed in the handshake, or null.</summary>
    public string? SubProtocol => _socket.SubProtocol;

    /// <summary>
    /// Receives the next whole message. A close from the peer is answered (the close handshake completes) and returned as
    /// a <see cref="WebSocketMessageKind.Close"/> message; a receive after that returns it again.
    /// </summary>
    /// <exception cref="WebSocketException">The connection broke or was aborted (a heartbeat went unanswered), or a message exceeded <see cref="AioWebSocketOptions.MaxMessageSize"/> (the WebSocket is then closed with 1009).</exception>
    /// <exception cref="CancelledError">The task or an enclosing scope was cancelled: in the middle of a message the WebSocket is aborted; on the server, before any frame of the message had arrived, it stays open.</exception>
    /// <exception cref="TimeoutException">No message arrived within <see cref="AioWebSocketOptions.ReceiveTimeout"/>: the WebSocket is aborted.</exception>
    public Task<WebSocketMessage> ReceiveAsync() =>
        _options.ReceiveTimeout is TimeSpan limit ? ReceiveTimedAsync(limit) : ReceiveCoreAsync().AsTask();

    /// <summary><see cref="ReceiveAsync"/> without a Task when there is no receive timeout (async iteration uses it).</summary>
    internal ValueTask<WebSocketMessage> ReceiveValueAsync() =>
        _options.ReceiveTimeout is TimeSpan limit ? new ValueTask<WebSocketMessage>(ReceiveTimedAsync(limit)) : ReceiveCoreAsync();

    private async Task<WebSocketMessage> ReceiveTimedAsync(TimeSpan limit)
    {
        WebSocketMessage? message = null;
        bool inTime = await Asyncio.MoveOnAfter(limit.TotalSeconds, async () => message = await ReceiveCoreAsync());
        if (!inTime)
        {
            if (!IsClosed)
            {
                _socket.Abort();
            }
            EndIfDone();
            throw new TimeoutException($"No message arrived from {_peer} within {limit.TotalSeconds} s (AioWebSocketOptions.ReceiveTimeout); the WebSocket was aborted.");
        }
        return message!;
    }

    [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<WebSocketMessage> ReceiveCoreAsync()
    {
        if (_socket.State is WebSocketState.CloseReceived or WebSocketState.Closed && _socket.CloseStatus is not null)
        {
            return WebSocketMessage.Closed(_socket.CloseStatus, _socket.CloseStatusDescription);
        }
        int length = 0;
        try
        {
            if (_guard is { } guard && _loop.CurrentTask is not null)
            {
                // Server side: wait until a whole frame is buffered (or the read will fail or end), so .NET's receive
                // below completes without suspending. Nothing was read yet: cancelled here, the WebSocket stays open.
                while (!guard.ReceiveReady)
                {
                    await guard.WaitReceiveReadyAsync();
                }
            }
            while (true)
            {
                if (length == _buffer.Length)
                {
                    Array.Resize(ref _buffer, _buffer.Length * 2);
                }
                ValueWebSocketReceiveResult result = _receiveWait is not null
                    ? await _receiveWait.AwaitAsync(_socket.ReceiveAsync(_buffer.AsMemory(length), Asyncio.CurrentToken))
                    : await Timed.RunAsync(_loop, null, null,
                        (_, token) => _socket.ReceiveAsync(_buffer.AsMemory(length), token).AsTask(), static _ => new InvalidOperationException());
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    await AnswerCloseAsync();
                    return WebSocketMessage.Closed(_socket.CloseStatus, _socket.CloseStatusDescription);
                }
                length += result.Count;
                if (_options.MaxMessageSize > 0 && length > _options.MaxMessageSize)
                {
                    await CloseOutputQuietlyAsync(WebSocketCloseStatus.MessageTooBig, "message too big");
                    throw new WebSocketException(WebSocketError.Faulted,
                        $"A message of more than {_options.MaxMessageSize} bytes arrived from {_peer}, over AioWebSocketOptions.MaxMessageSize; " +
                        "the WebSocket was closed with 1009 (message too big). Raise MaxMessageSize if such messages are expected.");
                }
                if (result.EndOfMessage)
                {
                    WebSocketMessage message = WebSocketMessage.FromFrame(result.MessageType, _buffer.AsSpan(0, length).ToArray());
                    if (_buffer.Length > 64 * 1024)
                    {
                        _buffer = new byte[16 * 1024];    // a big message does not pin a big buffer
                    }
                    return message;
                }
            }
        }
        catch (Exception e) when (e is WebSocketException or IOException && _guard?.GuardStatus is WebSocketCloseStatus status)
        {
            throw new WebSocketException(WebSocketError.Faulted,
                $"{_guard.GuardReason} The WebSocket with {_peer} was closed with {(int)status} ({status}).", e);
        }
        finally
        {
            EndIfDone();
        }
    }

    /// <summary>Sends a text message.</summary>
    public Task SendTextAsync(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        int size = text.Length <= 64 * 1024 ? Encoding.UTF8.GetMaxByteCount(text.Length) : Encoding.UTF8.GetByteCount(text);
        byte[] rented = ArrayPool<byte>.Shared.Rent(Math.Max(size, 1));
        int length = Encoding.UTF8.GetBytes(text, rented);
        Task send = SendAsync(rented.AsMemory(0, length), WebSocketMessageType.Text);
        if (send.IsCompleted)
        {
            ArrayPool<byte>.Shared.Return(rented);     // .NET copied the payload into its frame before the send completed
            return send;
        }
        return ReturnAfterAsync(send, rented);
    }

    private static async Task ReturnAfterAsync(Task send, byte[] rented)
    {
        try
        {
            await send;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>
    /// Sends a text message given as UTF-8 bytes, without decoding it: echo or relay a received text message with
    /// <c>SendTextAsync(message.Data)</c>. The bytes are checked to be valid UTF-8 (a text frame must be, RFC 6455 §8.1).
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="utf8"/> is not valid UTF-8 (nothing was sent).</exception>
    public Task SendTextAsync(ReadOnlyMemory<byte> utf8)
    {
        if (!System.Text.Unicode.Utf8.IsValid(utf8.Span))
        {
            Internal.HttpThrowHelper.InvalidUtf8(this, utf8.Length, nameof(utf8));
        }
        return SendAsync(utf8, WebSocketMessageType.Text);
    }

    /// <summary>Sends a binary message.</summary>
    public Task SendBytesAsync(ReadOnlyMemory<byte> data) => SendAsync(data, WebSocketMessageType.Binary);

    /// <summary>Sends <paramref name="value"/> as a JSON text message (System.Text.Json, web defaults).</summary>
    public Task SendJsonAsync<T>(T value, JsonSerializerOptions? options = null) =>
        SendAsync(JsonSerializer.SerializeToUtf8Bytes(value, options ?? JsonSerializerOptions.Web), WebSocketMessageType.Text);

    internal Task SendAsync(ReadOnlyMemory<byte> data, WebSocketMessageType type)
    {
        if (_guard is { WritePaused: false } && !_sendLock.Locked && !Aio.LowLevel.Checkpoint.IsCancelled)
        {
            // Server side, nothing else sending, the connection takes writes: .NET writes the whole frame now, so no
            // other send can come between and the lock is not needed — unless the write must wait (see below).
            ValueTask send;
            try
            {
                send = _socket.SendAsync(data, type, endOfMessage: true, CancellationToken.None);
            }
            catch (Exception e)
            {
                EndIfDone();
                return Task.FromException(e);
            }
            if (send.IsCompletedSuccessfully)
            {
                send.GetAwaiter().GetResult();
                EndIfDone();
                return Task.CompletedTask;
            }
            return FinishSendAsync(send);
        }
        return SendLockedAsync(data, type);
    }

    /// <summary>A send that did not complete at once (its frame took the transport over its high-water mark): later sends queue behind it.</summary>
    private async Task FinishSendAsync(ValueTask send)
    {
        using (await _sendLock.AcquireAsync())   // free, and taken before anything else runs
        {
            try
            {
                await AbortIfCancelledAsync(Internal.LoopBound.AwaitAsync(_loop, send));
            }
            finally
            {
                EndIfDone();
            }
        }
    }

    private async Task SendLockedAsync(ReadOnlyMemory<byte> data, WebSocketMessageType type)
    {
        using (await _sendLock.AcquireAsync())
        {
            try
            {
                if (_guard is not null)
                {
                    if (!_guard.WritePaused)
                    {
                        await SendUnpausedAsync(data, type);
                    }
                    else
                    {
                        await Internal.LoopBound.AwaitAsync(_loop, _socket.SendAsync(data, type, endOfMessage: true, Asyncio.CurrentToken));
                    }
                }
                else
                {
                    await Timed.RunAsync(_loop, null, null, async (_, token) =>
                    {
                        await _socket.SendAsync(data, type, endOfMessage: true, token);
                        return true;
                    }, static _ => new InvalidOperationException());
                }
            }
            finally
            {
                EndIfDone();
            }
        }
    }

    /// <summary>
    /// A send while the connection takes writes: the frame goes to the transport at once. No token is passed, so .NET
    /// takes its synchronous path (a cancellable token sends every frame through an async fallback that registers on
    /// it). Only a wait that starts inside the write (this frame took the transport over its high-water mark) can be
    /// cancelled — the stream's drain wait watches the task's scope itself — and, as .NET does when a send is cancelled,
    /// the WebSocket is then aborted.
    /// </summary>
    private ValueTask SendUnpausedAsync(ReadOnlyMemory<byte> data, WebSocketMessageType type)
    {
        ValueTask send = _socket.SendAsync(data, type, endOfMessage: true, CancellationToken.None);
        if (send.IsCompletedSuccessfully)
        {
            send.GetAwaiter().GetResult();
            return ValueTask.CompletedTask;
        }
        return new ValueTask(AbortIfCancelledAsync(Internal.LoopBound.AwaitAsync(_loop, send)));
    }

    private async Task AbortIfCancelledAsync(ValueTask send)
    {
        try
        {
            await send;
        }
        catch (OperationCanceledException)
        {
            if (!IsClosed)
            {
                _socket.Abort();
            }
            throw;
        }
    }

    /// <summary>
    /// Closes the WebSocket with the close handshake: sends a close frame and waits (up to
    /// <see cref="AioWebSocketOptions.CloseTimeout"/>) for the peer's; past that the connection is dropped. Idempotent.
    /// </summary>
    public async Task CloseAsync(WebSocketCloseStatus status = WebSocketCloseStatus.NormalClosure, string? description = null)
    {
        if (IsClosed)
        {
            EndIfDone();
            return;
        }
        try
        {
            bool inTime = await Asyncio.MoveOnAfter(_options.CloseTimeout.TotalSeconds, async () =>
            {
                await Timed.RunAsync(_loop, null, null, async (_, token) =>
                {
                    await _socket.CloseAsync(status, description, token);
                    return true;
                }, static _ => new InvalidOperationException());
            });
            if (!inTime)
            {
                _socket.Abort();
            }
        }
        catch (Exception e) when (e is WebSocketException or IOException)
        {
            _socket.Abort();                          // the peer went away during the handshake: nothing left to close
        }
        finally
        {
            EndIfDone();
        }
    }

    /// <summary>Receives messages until the peer closes (aiohttp's <c>async for msg in ws</c>): the close message itself is not yielded.</summary>
    public IAsyncEnumerator<WebSocketMessage> GetAsyncEnumerator(CancellationToken cancellationToken = default) =>
        new Internal.MessageEnumerator(this, _loop);

    /// <summary>Closes the WebSocket (the handshake, within the close timeout) if it is still open, and frees it.</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            if (_socket.State == WebSocketState.Open && !Aio.LowLevel.Checkpoint.IsCancelled)
            {
                await CloseAsync(WebSocketCloseStatus.NormalClosure, null);
            }
        }
        finally
        {
            if (!IsClosed)
            {
                _socket.Abort();
            }
            _socket.Dispose();
            EndIfDone();
        }
    }

    /// <summary>asyncio-style description: <c>&lt;AioWebSocket ws://host/path Open&gt;</c>.</summary>
    public override string ToString() => $"<AioWebSocket {_peer} {_socket.State}>";

    /// <summary>Where the server keeps this socket's helper tasks (so a shutdown waits for them and cancels them at its end).</summary>
    internal Action<AioTask>? AdoptTask { get; set; }

    /// <summary>Starts a helper task for this socket (a broadcast group's sender), owned by the server when there is one.</summary>
    internal void StartTask<TState>(Func<TState, Task<bool>> body, TState state, string name)
    {
        AioTask<bool> task = _loop.CreateTask(body, state, name);
        AdoptTask?.Invoke(task);
    }

    /// <summary>The server shuts down: starts the close handshake with 1001 (going away); the handler's receive sees the peer's answer.</summary>
    internal void GoAway()
    {
        if (_socket.State != WebSocketState.Open)
        {
            return;
        }
        StartTask(static self => self.GoAwayAsync(), this, "websocket going away");
    }

    private async Task<bool> GoAwayAsync()
    {
        try
        {
            await CloseOutputQuietlyAsync(WebSocketCloseStatus.EndpointUnavailable, "server shutting down");
        }
        catch (Exception e) when (e is OperationCanceledException or InvalidOperationException or ObjectDisposedException)
        {
            // The socket ended meanwhile: nothing to say.
        }
        return true;
    }

    /// <summary>Drops the connection at once (a broadcast group's slow client).</summary>
    internal void AbortConnection()
    {
        _guard?.AbortConnection();
        _socket.Abort();
        EndIfDone();
    }

    /// <summary>Whether a send would wait now (the peer does not read, or another send is in progress).</summary>
    internal bool SendWouldWait => _sendLock.Locked || _guard?.WritePaused == true;

    private async Task AnswerCloseAsync()
    {
        if (_socket.State == WebSocketState.CloseReceived)
        {
            await CloseOutputQuietlyAsync(_socket.CloseStatus ?? WebSocketCloseStatus.NormalClosure, null);
        }
    }

    private async Task CloseOutputQuietlyAsync(WebSocketCloseStatus status, string? description)
    {
        try
        {
            await Timed.RunAsync(_loop, null, null, async (_, token) =>
            {
                await _socket.CloseOutputAsync(status, description, token);
                return true;
            }, static _ => new InvalidOperationException());
        }
        catch (Exception e) when (e is WebSocketException or IOException)
        {
            _socket.Abort();
        }
    }

    private void EndIfDone()
    {
        if (IsClosed && _onEnd is { } end)
        {
            _onEnd = null;
            end();
        }
    }
}
