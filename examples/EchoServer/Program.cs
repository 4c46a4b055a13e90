// Echo server: one task per connection, with Aio's streams (asyncio's start_server).
//
//   dotnet run --project examples/EchoServer -- [port]        (default 8888, loopback only)
//
// Each line a client sends comes back upper-cased; "bye" closes that connection. Ctrl+C stops the server:
// Asyncio.Run cancels the main task, ServeForeverAsync closes the server and cancels the handlers.
using System.Text;
using Aio;
using Aio.Net;
using static Aio.Asyncio;

int port = args.Length > 0 ? int.Parse(args[0], System.Globalization.CultureInfo.InvariantCulture) : 8888;

try
{
    Run(async () =>
    {
        await using Server server = await StartServerAsync(HandleAsync, "127.0.0.1", port);
        Console.WriteLine($"Serving on {server.Sockets[0]} – try: dotnet run --project examples/EchoClient -- {port}");
        await server.ServeForeverAsync();
    });
}
catch (KeyboardInterrupt e)
{
    Console.WriteLine("Stopped.");
    return e.ProcessExitCode;   // 130 after Ctrl+C (SIGINT), 143 after SIGTERM
}
return 0;

static async Task HandleAsync(AioStreamReader reader, AioStreamWriter writer)
{
    object? peer = writer.GetExtraInfo("peername");
    Console.WriteLine($"{peer} connected");
    try
    {
        await foreach (byte[] line in reader)
        {
            string text = Encoding.UTF8.GetString(line).TrimEnd('\r', '\n');
            if (text == "bye")
            {
                break;
            }
            writer.Write(Encoding.UTF8.GetBytes(text.ToUpperInvariant() + "\n"));
            await writer.DrainAsync();   // back-pressure: wait if the client reads slower than we write
        }
    }
    catch (IOException e)
    {
        Console.WriteLine($"{peer}: {e.Message}");
    }
    finally
    {
        writer.Close();
        Console.WriteLine($"{peer} disconnected");
    }
}
