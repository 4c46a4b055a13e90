using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Peers.DotNet;

/// <summary>
/// W6 echo server with plain .NET async sockets: one <see cref="Socket.ReceiveAsync(Memory{byte}, SocketFlags, CancellationToken)"/>
/// / <see cref="Socket.SendAsync(ReadOnlyMemory{byte}, SocketFlags, CancellationToken)"/> loop per connection,
/// continuations on the thread pool (the runtime's defaults). Prints READY once listening on
/// 127.0.0.1:port and returns 0 on SIGTERM or SIGINT. TCP_NODELAY is set on every connection,
/// as asyncio and uvloop do by default and as every peer server here does.
/// </summary>
internal static class EchoServer
{
    public static async Task<int> RunAsync(int port)
    {
        var stop = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void OnSignal(PosixSignalContext context)
        {
            context.Cancel = true;
            stop.TrySetResult();
        }

        using var onTerm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
        using var onInt = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, port));
        listener.Listen(512);
        Console.WriteLine("READY");

        Task acceptLoop = AcceptLoopAsync(listener);
        await stop.Task;
        listener.Close();
        try
        {
            await acceptLoop;
        }
        catch (SocketException)
        {
            // The listener was closed under a pending accept.
        }
        catch (ObjectDisposedException)
        {
            // Same.
        }

        return 0;
    }

    private static async Task AcceptLoopAsync(Socket listener)
    {
        while (true)
        {
            Socket connection = await listener.AcceptAsync();
            connection.NoDelay = true;
            _ = EchoAsync(connection);
        }
    }

    private static async Task EchoAsync(Socket connection)
    {
        byte[] buffer = new byte[65536];
        try
        {
            while (true)
            {
                int received = await connection.ReceiveAsync(buffer, SocketFlags.None);
                if (received == 0)
                {
                    break;
                }

                int sent = 0;
                while (sent < received)
                {
                    sent += await connection.SendAsync(buffer.AsMemory(sent, received - sent), SocketFlags.None);
                }
            }
        }
        catch (SocketException)
        {
            // The client went away: close this connection and keep serving the others.
        }
        finally
        {
            connection.Dispose();
        }
    }
}
