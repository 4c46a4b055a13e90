// Echo client: connects with Aio's streams (asyncio's open_connection), sends a few lines and prints
// the answers, then says "bye".
//
//   dotnet run --project examples/EchoClient -- [port] [lines...]      (default 8888)
//
// Start examples/EchoServer first. Runs offline, on loopback.
using System.Text;
using Aio;
using static Aio.Asyncio;

int port = args.Length > 0 ? int.Parse(args[0], System.Globalization.CultureInfo.InvariantCulture) : 8888;
string[] lines = args.Length > 1 ? args[1..] : ["hello", "event loop", "asyncio in C#"];

Run(async () =>
{
    var (reader, writer) = await OpenConnectionAsync("127.0.0.1", port);
    foreach (string line in lines)
    {
        writer.Write(Encoding.UTF8.GetBytes(line + "\n"));
        await writer.DrainAsync();
        byte[] answer = await reader.ReadLineAsync();
        Console.WriteLine($"{line} -> {Encoding.UTF8.GetString(answer).TrimEnd('\n')}");
    }
    writer.Write("bye\n"u8);
    await writer.DrainAsync();
    await reader.ReadAsync();   // the server closes: EOF
    writer.Close();
    await writer.WaitClosedAsync();
});
