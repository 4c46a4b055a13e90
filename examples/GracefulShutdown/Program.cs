// GracefulShutdown: a periodic health check that stops cleanly on Ctrl+C.
//
// Every 2 seconds the program checks a TCP service – here a listener it opens itself on 127.0.0.1 – by
// connecting to it and waiting for its one-line greeting. Ctrl+C (SIGINT) or SIGTERM cancels the main task:
//   - a check already in flight runs to its end (it runs in a shielded cancel scope),
//   - the wait for the next check and the listener are cancelled,
//   - Asyncio.Run throws KeyboardInterrupt and the program exits with code 130 (143 after SIGTERM).
// A second Ctrl+C ends the process at once.
//
//   dotnet run --project examples/GracefulShutdown        (then press Ctrl+C)
using System.Net;
using System.Net.Sockets;
using System.Text;
using Aio;
using static Aio.Asyncio;

const double Period = 2.0;        // seconds between the starts of two checks
const double CheckWork = 0.5;     // how long a check holds the connection (its "work")

try
{
    Run(MainAsync);
    return 0;
}
catch (KeyboardInterrupt e)
{
    Console.WriteLine("exit: interrupted");
    return e.ProcessExitCode;   // 130 after SIGINT, 143 after SIGTERM
}

static async Task MainAsync()
{
    using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
    listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
    listener.Listen();
    var endpoint = (IPEndPoint)listener.LocalEndPoint!;
    Console.WriteLine($"ready: checking 127.0.0.1:{endpoint.Port} every {Period} s; press Ctrl+C to stop");

    AioTask server = CreateTask(() => ServeAsync(listener), "server");
    int completed = 0;
    try
    {
        for (int n = 1; ; n++)
        {
            double started = EventLoop.GetRunningLoop().Time();
            // The check runs shielded: a Ctrl+C during it lets it finish; the cancellation arrives at the Sleep below.
            await new CancelScope(shield: true).RunAsync(() => CheckAsync(n, endpoint));
            completed++;
            await Sleep(Math.Max(0, started + Period - EventLoop.GetRunningLoop().Time()));
        }
    }
    finally
    {
        Console.WriteLine($"shutdown: {completed} check(s) completed; stopping the server");
        server.Cancel();
        await new CancelScope(shield: true).RunAsync(async () =>
        {
            try
            {
                await server;
            }
            catch (CancelledError)
            {
                // Expected: we cancelled it.
            }
        });
    }
}

static async Task CheckAsync(int n, IPEndPoint endpoint)
{
    Console.WriteLine($"check {n}: start");
    using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
    await Cancellable(client.ConnectAsync(endpoint, CurrentToken).AsTask());
    var buffer = new byte[64];
    int read = await Cancellable(client.ReceiveAsync(buffer, SocketFlags.None, CurrentToken).AsTask());
    await Sleep(CheckWork); // the check's "work" while holding the connection
    Console.WriteLine($"check {n}: done ({Encoding.ASCII.GetString(buffer, 0, read).Trim()})");
}

static async Task ServeAsync(Socket listener)
{
    while (true)
    {
        using Socket peer = await Cancellable(listener.AcceptAsync(CurrentToken).AsTask());
        await Cancellable(peer.SendAsync("OK\n"u8.ToArray(), SocketFlags.None, CurrentToken).AsTask());
    }
}
