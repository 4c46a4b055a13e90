// Connector: making sockets – listening ones, and connected ones with happy eyeballs.
//
// Design note. A connect on the epoll back end is a non-blocking connect(2) followed by a wait for
// writability in the loop's own epoll and a read of SO_ERROR, so the socket never meets .NET's socket
// engine; the portable back end awaits Socket.ConnectAsync through the loop. Happy eyeballs (RFC 8305,
// asyncio's staggered_race): addresses are interleaved by family, the first attempt starts at once, and
// each next one starts when the previous failed or after the delay, whichever comes first; the first
// socket to connect wins and every other attempt is cancelled (their sockets closed). Errors of all
// attempts are kept: one error (or several of one kind) is rethrown as is, mixed ones together.
using System.Net;
using System.Net.Sockets;
using Aio.Polling;

namespace Aio.Net.Internal;

internal static class Connector
{
    /// <summary>A bound, listening, non-blocking socket for <paramref name="endPoint"/>.</summary>
    public static Socket Listen(EndPoint endPoint, ServerOptions options)
    {
        bool unix = endPoint is UnixDomainSocketEndPoint;
        var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, unix ? ProtocolType.Unspecified : ProtocolType.Tcp);
        try
        {
            if (!unix)
            {
                if (options.ReuseAddress)
                {
                    socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
                }
                if (options.ReusePort && OperatingSystem.IsLinux())
                {
                    const int SOL_SOCKET = 1, SO_REUSEPORT = 15;
                    socket.SetRawSocketOption(SOL_SOCKET, SO_REUSEPORT, BitConverter.GetBytes(1));
                }
                if (endPoint.AddressFamily == AddressFamily.InterNetworkV6)
                {
                    socket.DualMode = false;   // IPV6_V6ONLY, as asyncio: the IPv4 address gets its own socket
                }
                socket.Bind(endPoint);
            }
            else
            {
                BindUnix(socket, (UnixDomainSocketEndPoint)endPoint);
            }
            socket.Listen(options.Backlog);
            socket.Blocking = false;
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Binds a Unix socket; a stale socket file (nobody accepts on it) is removed first, as asyncio does.</summary>
    private static void BindUnix(Socket socket, UnixDomainSocketEndPoint endPoint)
    {
        try
        {
            socket.Bind(endPoint);
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressAlreadyInUse)
        {
            using var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            try
            {
                probe.Connect(endPoint);
            }
            catch (SocketException)
            {
                File.Delete(endPoint.ToString());
                socket.Bind(endPoint);
                return;
            }
            throw;   // a live server answers there
        }
    }

    /// <summary>RFC 8305 order: keep the resolver's order, interleaving the families (first family first).</summary>
    public static IPAddress[] Order(IPAddress[] addresses, bool interleave)
    {
        if (!interleave || addresses.Length < 2)
        {
            return addresses;
        }
        AddressFamily first = addresses[0].AddressFamily;
        var a = addresses.Where(x => x.AddressFamily == first).ToList();
        var b = addresses.Where(x => x.AddressFamily != first).ToList();
        var result = new List<IPAddress>(addresses.Length);
        for (int i = 0; i < Math.Max(a.Count, b.Count); i++)
        {
            if (i < a.Count)
            {
                result.Add(a[i]);
            }
            if (i < b.Count)
            {
                result.Add(b[i]);
            }
        }
        return result.ToArray();
    }

    /// <summary>Connects to the first of <paramref name="endPoints"/> that answers; staggered by <paramref name="delay"/> seconds (null: one after the other).</summary>
    public static async Task<Socket> ConnectAsync(EventLoop loop, EndPoint[] endPoints, double? delay, IPEndPoint? local)
    {
        if (endPoints.Length == 1)
        {
            return await ConnectOneAsync(loop, endPoints[0], local);
        }
        var errors = new List<Exception>();
        if (delay is null)
        {
            foreach (EndPoint ep in endPoints)
            {
                try
                {
                    return await ConnectOneAsync(loop, ep, local);
                }
                catch (SocketException e)
                {
                    errors.Add(e);
                }
            }
            throw Combine(errors);
        }

        var pending = new List<AioTask<Socket>>();
        int next = 0;
        Socket? winner = null;
        try
        {
            while (winner is null)
            {
                if (next < endPoints.Length)
                {
                    EndPoint ep = endPoints[next++];
                    pending.Add(loop.CreateTask(() => ConnectOneAsync(loop, ep, local), $"happy-eyeballs {ep}"));
                }
                else if (pending.Count == 0)
                {
                    break;
                }
                // Wait for one attempt to end, or (while addresses remain) for the delay to pass.
                var (done, _) = await Asyncio.Wait(pending, next < endPoints.Length ? delay : null, ReturnWhen.FirstCompleted);
                foreach (AioTask<Socket> t in pending.Where(done.Contains).ToList())
                {
                    pending.Remove(t);
                    if (t.Cancelled)
                    {
                        continue;
                    }
                    Exception? error = t.Exception();
                    if (error is not null)
                    {
                        errors.Add(error);
                    }
                    else if (winner is null)
                    {
                        winner = t.Result();
                    }
                    else
                    {
                        t.Result().Dispose();
                    }
                }
            }
        }
        finally
        {
            foreach (AioTask<Socket> loser in pending)
            {
                loser.Cancel("Another address answered first (happy eyeballs).");
                loser.AddDoneCallback(static f =>
                {
                    var t = (AioTask<Socket>)f;
                    if (t.Cancelled)
                    {
                        return;
                    }
                    if (t.Exception() is null)
                    {
                        t.Result().Dispose();   // connected just as it was cancelled: not ours to keep
                    }
                });
            }
        }
        return winner ?? throw Combine(errors);
    }

    private static Exception Combine(List<Exception> errors)
    {
        if (errors.Count == 0)
        {
            return new SocketException((int)SocketError.HostUnreachable);
        }
        if (errors.All(e => e is SocketException s && s.SocketErrorCode == ((SocketException)errors[0]).SocketErrorCode))
        {
            return errors[0];
        }
        return new AggregateException($"Multiple exceptions: {string.Join("; ", errors.Select(e => e.Message))}", errors);
    }

    /// <summary>Connects one socket: non-blocking connect and an epoll wait (reactor), or ConnectAsync (portable).</summary>
    public static async Task<Socket> ConnectOneAsync(EventLoop loop, EndPoint endPoint, IPEndPoint? local)
    {
        bool unix = endPoint is UnixDomainSocketEndPoint;
        var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, unix ? ProtocolType.Unspecified : ProtocolType.Tcp);
        try
        {
            if (local is not null)
            {
                socket.Bind(local);
            }
            if (loop.UsesReactor())
            {
                socket.Blocking = false;
                try
                {
                    socket.Connect(endPoint);
                    return socket;
                }
                catch (SocketException e) when (e.SocketErrorCode is SocketError.WouldBlock or SocketError.InProgress or SocketError.AlreadyInProgress)
                {
                    // In progress: wait for writability below.
                }
                var connected = loop.CreateFuture<bool>();
                IPoller poller = loop.Poller;
                poller.Register(socket.SafeHandle, IoEvents.Write, new ConnectWaiter(connected));
                try
                {
                    await connected;
                }
                finally
                {
                    poller.Unregister(socket.SafeHandle);
                }
                int error = (int)socket.GetSocketOption(SocketOptionLevel.Socket, SocketOptionName.Error)!;
                if (error != 0)
                {
                    throw new SocketException(error);
                }
                return socket;
            }
            // Cancellable: a cancelled attempt returns at once (the catch below disposes the socket, ending the connect).
            await Asyncio.Cancellable(socket.ConnectAsync(endPoint, Asyncio.CurrentToken).AsTask());
            socket.Blocking = false;
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Completes a future when a connecting socket becomes writable (connected or failed).</summary>
    private sealed class ConnectWaiter(AioFuture<bool> connected) : IIoHandler
    {
        public void OnIoReady(IoEvents events) => connected.TrySetResult(true);

        public override string ToString() => "<ConnectWaiter>";
    }
}
