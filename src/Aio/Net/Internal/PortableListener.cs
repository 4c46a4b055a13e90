using System.Net.Sockets;
using Aio.Internal;
using Aio.LowLevel;

namespace Aio.Net.Internal;

/// <summary>The portable back end of <see cref="Listener"/>: one <c>AcceptAsync</c> in flight, its completion posted to the loop.</summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA2213", Justification = "Lives as long as the connection; released with it.")]
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "Lives as long as the connection; released with it.")]
internal sealed class PortableListener : Listener
{
    private static readonly Action<object?> s_acceptDone = static s => ((PortableListener)s!).OnAcceptDone();

    private readonly SocketAsyncEventArgs _args = new();
    private bool _pending;     // an AcceptAsync is in flight
    private Socket? _deferred; // test seam: a connection accepted while a fault was injected, kept as if still in the backlog

    public PortableListener(EventLoop loop, Socket socket, Server server) : base(loop, socket, server)
    {
        _args.UserToken = this;
        _args.Completed += static (_, e) =>
        {
            var self = (PortableListener)e.UserToken!;
            self._loop.TryPostItem(new ReadyItem { Kind = ReadyKind.Action, Callback = s_acceptDone, State = self });
        };
    }

    private protected override void Arm()
    {
        if (_pending || _closed)
        {
            return;
        }
        if (_deferred is { } deferred)
        {
            if (_server.AcceptFaultForTests is { } fault && fault() is not 0)
            {
                OutOfResources(new SocketException((int)SocketError.TooManyOpenSockets));
                return;
            }
            _deferred = null;
            deferred.Blocking = false;
            Accepted(deferred);
        }
        _pending = true;
        _args.AcceptSocket = null;
        // Counted as outside work, like the epoll back end's registration of the listening socket: a
        // virtual clock does not jump while a server may still get a connection, on either back end.
        _loop.BeginOutsideWork(OutsideWorkKind.Foreign);
        bool pending;
        try
        {
            pending = Socket.AcceptAsync(_args);
        }
        catch (ObjectDisposedException)
        {
            _pending = false;
            _loop.EndOutsideWork(OutsideWorkKind.Foreign);
            return;
        }
        if (!pending)
        {
            _loop.CallSoonInternal(s_acceptDone, this);
        }
    }

    private protected override void Disarm()
    {
        // An AcceptAsync in flight cannot be withdrawn; its result is handled (or dropped) when it completes.
    }

    private protected override void CloseSocket() => Socket.Dispose();

    private void OnAcceptDone()
    {
        _pending = false;
        _loop.EndOutsideWork(OutsideWorkKind.Foreign);
        Socket? accepted = _args.AcceptSocket;
        _args.AcceptSocket = null;
        SocketError error = _args.SocketError;
        if (_closed)
        {
            accepted?.Dispose();
            _deferred?.Dispose();
            return;
        }
        if (error == SocketError.Success && accepted is not null && _server.AcceptFaultForTests is { } fault && fault() is not 0)
        {
            _deferred = accepted;   // as with a real EMFILE, the connection waits (here: outside the backlog)
            accepted = null;
            error = SocketError.TooManyOpenSockets;
        }
        if (error == SocketError.Success && accepted is not null)
        {
            accepted.Blocking = false;
            if (_accepting)
            {
                Accepted(accepted);
            }
            else
            {
                accepted.Dispose();
            }
        }
        else if (error is SocketError.TooManyOpenSockets or SocketError.NoBufferSpaceAvailable)
        {
            OutOfResources(new SocketException((int)error));
            return;
        }
        else if (error == SocketError.OperationAborted)
        {
            return;
        }
        if (_accepting && !BackingOff)
        {
            Arm();
        }
    }

    public override string ToString() => $"<PortableListener {EndPoint}>";
}
