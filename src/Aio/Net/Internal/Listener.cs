using System.Net;
using System.Net.Sockets;

namespace Aio.Net.Internal;

/// <summary>
/// One listening socket of a <see cref="Server"/>; the back end supplies the accepts. When accepting fails
/// for lack of resources (EMFILE, ENFILE, ENOBUFS, ENOMEM) the error is reported once and accepting pauses
/// for <see cref="Server.AcceptRetryDelay"/> seconds, as asyncio does: the pending connection stays in the
/// kernel's backlog, and a level-triggered poller would otherwise spin on it.
/// </summary>
internal abstract class Listener
{
    private static readonly Action<object?> s_resume = static s => ((Listener)s!).ResumeAfterBackoff();

    private protected readonly EventLoop _loop;
    private protected readonly Server _server;
    private TimerHandle? _backoff;        // armed while accepting is paused after a resource error
    private protected bool _accepting;    // StartAccepting was called and StopAccepting not
    private protected bool _closed;

    protected Listener(EventLoop loop, Socket socket, Server server)
    {
        _loop = loop;
        _socket = socket;
        _server = server;
        EndPoint = socket.LocalEndPoint!;
    }

    /// <summary>A listener of a network provider (ProvidedListener): no socket of its own.</summary>
    private protected Listener(EventLoop loop, EndPoint endPoint, Server server)
    {
        _loop = loop;
        _server = server;
        EndPoint = endPoint;
    }

    private readonly Socket? _socket;

    public Socket Socket => _socket!;

    public EndPoint EndPoint { get; }

    /// <summary>Accepting is paused after a resource error.</summary>
    private protected bool BackingOff => _backoff is not null;

    public void StartAccepting()
    {
        if (_closed || _accepting)
        {
            return;
        }
        _accepting = true;
        if (!BackingOff)
        {
            Arm();
        }
    }

    public void Close()
    {
        if (_closed)
        {
            return;
        }
        _closed = true;
        _accepting = false;
        _backoff?.Cancel();
        _backoff = null;
        Disarm();
        CloseSocket();
        if (EndPoint is UnixDomainSocketEndPoint unix && unix.ToString() is { Length: > 0 } path && path[0] != '\0' && path[0] != '@')
        {
            try
            {
                File.Delete(path);
            }
            catch (IOException)
            {
                // Someone else removed or replaced it; nothing of ours to clean.
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
    }

    private protected abstract void Arm();

    private protected abstract void Disarm();

    private protected abstract void CloseSocket();

    /// <summary>A connection was accepted: make its transport (the socket is non-blocking already).</summary>
    private protected void Accepted(object connection) => _server.OnAccepted(connection);

    /// <summary>Out of descriptors or memory: report, stop accepting for a while, then try again.</summary>
    private protected void OutOfResources(SocketException error)
    {
        _server.AcceptErrors++;
        _loop.CallExceptionHandler(new ExceptionContext
        {
            Message = $"Accepting on {EndPoint} failed for lack of resources ({error.SocketErrorCode}: {error.Message}); " +
                      $"the server stops accepting for {_server.AcceptRetryDelay:0.###} s and then tries again. Raise the open-file limit (ulimit -n) or serve fewer connections.",
            Exception = error,
            Source = _server,
        });
        Disarm();
        _backoff = _loop.CallLater(_server.AcceptRetryDelay, s_resume, (object?)this);
    }

    private void ResumeAfterBackoff()
    {
        _backoff = null;
        if (_accepting && !_closed)
        {
            Arm();
        }
    }

    /// <summary>Errors of accept that mean "out of resources" (asyncio's list).</summary>
    private protected static bool IsResourceError(int errno) => errno is Errno.EMFILE or Errno.ENFILE or Errno.ENOBUFS or Errno.ENOMEM;
}

/// <summary>The Linux errno values the networking layer tells apart.</summary>
internal static class Errno
{
    public const int EINTR = 4;
    public const int EAGAIN = 11;
    public const int ENOMEM = 12;
    public const int ENFILE = 23;
    public const int EMFILE = 24;
    public const int ENOBUFS = 105;
}
