// Chat server: every line a client sends goes to all the other clients (Aio's streams, one task per client).
//
//   dotnet run --project examples/ChatServer -- [port]        (default 8888, loopback only; 0: any free port)
//   then, in two or more other terminals:  nc 127.0.0.1 8888
//
// The first line a client sends is its name. Ctrl+C shuts the server down gracefully: it stops accepting,
// tells every client goodbye and closes their connections, and gives the handlers 5 seconds to finish
// before it cancels them. A second Ctrl+C ends the process at once.
using System.Text;
using Aio;
using Aio.Net;
using static Aio.Asyncio;

int port = args.Length > 0 ? int.Parse(args[0], System.Globalization.CultureInfo.InvariantCulture) : 8888;
var clients = new Dictionary<AioStreamWriter, string>();   // every client that has told its name

try
{
    Run(async () =>
    {
        Server server = await StartServerAsync(ChatAsync, "127.0.0.1", port);
        // Shutting down: the server has stopped accepting; nothing is cancelled yet. Say goodbye and close:
        // each handler then reads EOF and ends by itself.
        server.ShuttingDown.Register(() =>
        {
            Console.WriteLine($"shutdown: telling {clients.Count} client(s) goodbye");
            foreach (AioStreamWriter client in clients.Keys)
            {
                client.Write("* server shutting down, bye\n"u8);
                client.Close();
            }
        });
        Console.WriteLine($"ready: chat on {server.Sockets[0]}");
        // Ctrl+C cancels this task: the server then shuts down gracefully (5 s for the handlers to finish)
        // before the cancellation goes on.
        await server.ServeForeverAsync(shutdownGracePeriod: 5);
    });
}
catch (KeyboardInterrupt e)
{
    Console.WriteLine("exit: interrupted");
    return e.ProcessExitCode;   // 130 after Ctrl+C (SIGINT), 143 after SIGTERM
}
return 0;

async Task ChatAsync(AioStreamReader reader, AioStreamWriter writer)
{
    writer.Write("* welcome! what is your name?\n"u8);
    string name = Encoding.UTF8.GetString(await reader.ReadLineAsync()).Trim();
    if (name.Length == 0)
    {
        writer.Close();
        return;
    }
    Broadcast($"* {name} joined");
    clients.Add(writer, name);
    try
    {
        while (await reader.ReadLineAsync() is { Length: > 0 } line)   // empty: the client has gone (EOF)
        {
            Broadcast($"{name}: {Encoding.UTF8.GetString(line).TrimEnd('\r', '\n')}", except: writer);
        }
    }
    catch (IOException)
    {
        // The connection broke (reset by the peer): the client has gone.
    }
    finally
    {
        clients.Remove(writer);
        writer.Close();
        Broadcast($"* {name} left");
    }
}

void Broadcast(string text, AioStreamWriter? except = null)
{
    Console.WriteLine(text);
    byte[] bytes = Encoding.UTF8.GetBytes(text + "\n");
    foreach (AioStreamWriter client in clients.Keys)
    {
        // No DrainAsync here: one slow reader must not hold up the others. Its buffer grows instead, so a
        // client that stops reading is dropped once 1 MiB waits for it.
        if (client != except && !client.IsClosing)
        {
            client.Write(bytes);
            if (client.Transport.GetWriteBufferSize() > 1 << 20)
            {
                client.Close();
            }
        }
    }
}
