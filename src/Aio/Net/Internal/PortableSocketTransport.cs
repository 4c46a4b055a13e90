using System.Net.Sockets;
using Aio.Internal;
using Aio.LowLevel;
using Aio.Streams.Internal;

namespace Aio.Net.Internal;

/// <summary>
/// The portable back end of <see cref="SocketTransport"/>: a zero-byte <c>ReceiveAsync</c> stands for
/// "readable" (the data itself is then received synchronously on the loop thread, into the same buffers as
/// the epoll back end), and the buffered tail of the writes goes out with <c>SendAsync</c>. Every
/// completion is posted to the loop; each operation in flight counts in the loop's outside work, so a
/// virtual clock does not jump over it.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA2213", Justification = "Lives as long as the connection; released with it.")]
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "Lives as long as the connection; released with it.")]
internal sealed class PortableSocketTransport : SocketTransport
{
    private static readonly Action<object?> s_receiveDone = static s => ((PortableSocketTransport)s!).OnReceiveDone();
    private static readonly Action<object?> s_sendDone = static s => ((PortableSocketTransport)s!).OnSendDone();

    private readonly SocketAsyncEventArgs _receiveArgs = new();
    private readonly SocketAsyncEventArgs _sendArgs = new();
    private readonly WriteBuffer _sending = new();   // the block SendAsync is sending; empty when no send is in flight
    private readonly string _kind;
    private bool _receivePending;                    // a zero-byte ReceiveAsync is in flight
    private bool _sendPending;                       // a SendAsync is in flight

    public PortableSocketTransport(EventLoop loop, Socket socket, IBaseProtocol protocol, Server? server, AioFuture<bool>? waiter)
        : base(loop, socket, protocol, server, waiter)
    {
        _kind = socket.AddressFamily == AddressFamily.Unix ? "UnixTransport" : "TcpTransport";
        _receiveArgs.SetBuffer(Memory<byte>.Empty);
        _receiveArgs.UserToken = this;
        _receiveArgs.Completed += static (_, e) => Post((PortableSocketTransport)e.UserToken!, s_receiveDone);
        _sendArgs.UserToken = this;
        _sendArgs.Completed += static (_, e) => Post((PortableSocketTransport)e.UserToken!, s_sendDone);
    }

    private protected override string KindName => _kind;

    private protected override int WriteBufferSize => _aborted ? 0 : _buffer.Length + _sending.Length;

    private static void Post(PortableSocketTransport t, Action<object?> callback) =>
        t._loop.TryPostItem(new ReadyItem { Kind = ReadyKind.Action, Callback = callback, State = t });

    private protected override void UpdateIo()
    {
        if (WantsRead && !_receivePending && !_ioClosed)
        {
            _receivePending = true;
            _loop.BeginOutsideWork(OutsideWorkKind.Foreign);
            bool pending;
            try
            {
                pending = _socket.ReceiveAsync(_receiveArgs);
            }
            catch (ObjectDisposedException)
            {
                _receivePending = false;
                _loop.EndOutsideWork(OutsideWorkKind.Foreign);
                return;
            }
            if (!pending)
            {
                // Completed at once: go through the ready ring (no recursion, fair to other sockets).
                _loop.CallSoonInternal(s_receiveDone, this);
            }
        }
    }

    private protected override void StartWriting()
    {
        if (!_sendPending)
        {
            StartSend();
        }
    }

    private void StartSend()
    {
        // Swap: the buffered bytes become the block in flight; new writes append to the (now empty) buffer.
        _sending.Append(_buffer.Span);
        _buffer.Clear();
        _sendPending = true;
        _loop.BeginOutsideWork(OutsideWorkKind.Foreign);
        _sendArgs.SetBuffer(System.Runtime.InteropServices.MemoryMarshal.AsMemory(_sending.Memory));
        bool pending;
        try
        {
            pending = _socket.SendAsync(_sendArgs);
        }
        catch (ObjectDisposedException)
        {
            _sendPending = false;
            _loop.EndOutsideWork(OutsideWorkKind.Foreign);
            return;
        }
        if (!pending)
        {
            _loop.CallSoonInternal(s_sendDone, this);
        }
    }

    private void OnReceiveDone()
    {
        _receivePending = false;
        _loop.EndOutsideWork(OutsideWorkKind.Foreign);
        if (_ioClosed)
        {
            DisposeIfIdle();
            return;
        }
        SocketError error = _receiveArgs.SocketError;
        if (error != SocketError.Success)
        {
            if (error != SocketError.OperationAborted)
            {
                FatalError(new SocketException((int)error), "Fatal read error on socket transport");
            }
            return;
        }
        ReadReady();
        UpdateIo();
    }

    private void OnSendDone()
    {
        _sendPending = false;
        _loop.EndOutsideWork(OutsideWorkKind.Foreign);
        if (_ioClosed)
        {
            DisposeIfIdle();
            return;
        }
        SocketError error = _sendArgs.SocketError;
        if (error != SocketError.Success)
        {
            _sending.Clear();
            _buffer.Clear();
            if (error != SocketError.OperationAborted)
            {
                FatalError(new SocketException((int)error), "Fatal write error on socket transport");
            }
            return;
        }
        _sending.Consume(Math.Min(_sendArgs.BytesTransferred, _sending.Length));
        if (_sending.Length > 0)
        {
            // A short send (rare for stream sockets): send the rest before anything newer.
            var rest = _sending.Span.ToArray();
            _sending.Clear();
            var newer = _buffer.Span.ToArray();
            _buffer.Clear();
            _buffer.Append(rest);
            _buffer.Append(newer);
        }
        if (_buffer.Length > 0)
        {
            StartSend();
        }
        AfterSent();
    }

    private protected override void CloseSocket()
    {
        if (!_receivePending && !_sendPending)
        {
            _sending.Clear();
            _socket.Dispose();
            return;
        }
        // .NET closes a socket with operations in flight abortively (a reset, and the peer loses what was
        // still in flight). Shut it down instead – FIN after the queued data, and the pending zero-byte
        // receive returns – and dispose it once the last completion is in (DisposeIfIdle).
        try
        {
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (SocketException)
        {
            _socket.Dispose();
        }
    }

    private void DisposeIfIdle()
    {
        if (!_receivePending && !_sendPending)
        {
            _sending.Clear();
            _socket.Dispose();
        }
    }
}
