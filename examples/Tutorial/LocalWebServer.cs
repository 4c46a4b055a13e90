using System.Net;
using System.Text;
using Aio;
using Aio.Net;
using static Aio.Asyncio;

namespace Aio.Examples.Tutorial;

/// <summary>
/// The local web site the tour talks to, so it runs offline: a minimal HTTP/1.1 responder on Aio's
/// streams, on 127.0.0.1 and a free port. Every answer takes <see cref="Latency"/> seconds, like a slow site.
/// (Aio's own HTTP server comes later; this is just enough HTTP for HttpClient.)
/// </summary>
public static class LocalWebServer
{
    public const double Latency = 1.0;

    public static async Task<(Server Server, string BaseUrl)> StartAsync()
    {
        Server server = await StartServerAsync(HandleAsync, "127.0.0.1", 0);
        int port = ((IPEndPoint)server.Sockets[0]).Port;
        return (server, $"http://127.0.0.1:{port}");
    }

    private static async Task HandleAsync(AioStreamReader reader, AioStreamWriter writer)
    {
        try
        {
            while (true)
            {
                byte[] head = await reader.ReadUntilAsync("\r\n\r\n"u8.ToArray());
                string requestLine = Encoding.ASCII.GetString(head).Split("\r\n")[0];
                string[] parts = requestLine.Split(' ');
                string method = parts[0], path = parts.Length > 1 ? parts[1] : "/";
                await Sleep(Latency);
                byte[] body = Encoding.UTF8.GetBytes($"Hello from {path}\n");
                string headers = $"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {body.Length}\r\n\r\n";
                writer.Write(Encoding.ASCII.GetBytes(headers));
                if (method != "HEAD")
                {
                    writer.Write(body);
                }
                await writer.DrainAsync();
            }
        }
        catch (IncompleteReadError)
        {
            // The client closed its keep-alive connection.
        }
        finally
        {
            writer.Close();
        }
    }
}
