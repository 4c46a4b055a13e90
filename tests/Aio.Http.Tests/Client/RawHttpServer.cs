using System.Globalization;
using System.Text;

namespace Aio.Http.Tests.Client;

/// <summary>A request as the raw test server parsed it.</summary>
public sealed record RawRequest(string Method, string Target, Dictionary<string, string> Headers, byte[] Body)
{
    /// <summary>For a body over <see cref="RawHttpServer.StreamedBodyThreshold"/> bytes: the connection's reader, the body unread (the handler reads it).</summary>
    public AioStreamReader? BodyReader { get; init; }

    public string? Header(string name) => Headers.TryGetValue(name.ToLowerInvariant(), out string? v) ? v : null;
}

/// <summary>
/// A minimal HTTP/1.1 server on the test's own loop (Aio streams), for behaviour a real server will not show on demand:
/// stalls, bodies broken off, exact ordering. Keep-alive; bodies by Content-Length or chunked. Handlers write raw bytes.
/// </summary>
public sealed class RawHttpServer : IAsyncDisposable
{
    private readonly Func<RawRequest, AioStreamWriter, Task> _handler;
    private readonly List<AioTask> _connections = [];
    private Aio.Net.Server? _server;

    private RawHttpServer(Func<RawRequest, AioStreamWriter, Task> handler) => _handler = handler;

    /// <summary>Bodies longer than this are left to the handler to read (<see cref="RawRequest.BodyReader"/>).</summary>
    public const long StreamedBodyThreshold = 1 << 20;

    public int Port { get; private set; }

    public List<RawRequest> Requests { get; } = [];

    /// <summary>Connections accepted in all.</summary>
    public int Accepted { get; private set; }

    /// <summary>Connections whose peer closed them (EOF or reset) so far.</summary>
    public int PeerClosed { get; private set; }

    public string Url(string path) => $"http://127.0.0.1:{Port}{path}";

    public static async Task<RawHttpServer> StartAsync(Func<RawRequest, AioStreamWriter, Task> handler)
    {
        var raw = new RawHttpServer(handler);
        raw._server = await StartServerAsync(raw.ServeAsync, "127.0.0.1", 0);
        raw.Port = ((System.Net.IPEndPoint)raw._server.Sockets[0]).Port;
        return raw;
    }

    private async Task ServeAsync(AioStreamReader reader, AioStreamWriter writer)
    {
        Accepted++;
        _connections.Add(CurrentTask()!);
        try
        {
            while (true)
            {
                byte[] head;
                try
                {
                    head = await reader.ReadUntilAsync("\r\n\r\n"u8.ToArray());
                }
                catch (Exception e) when (e is IncompleteReadError or IOException)
                {
                    PeerClosed++;
                    return;
                }
                string[] lines = Encoding.ASCII.GetString(head).Split("\r\n");
                string[] first = lines[0].Split(' ');
                var headers = new Dictionary<string, string>();
                foreach (string line in lines.Skip(1).Where(l => l.Length > 0))
                {
                    int colon = line.IndexOf(':', StringComparison.Ordinal);
                    string name = line[..colon].Trim().ToLowerInvariant();
                    string value = line[(colon + 1)..].Trim();
                    headers[name] = headers.TryGetValue(name, out string? old) ? old + ", " + value : value;
                }
                byte[] body = [];
                AioStreamReader? bodyReader = null;
                if (headers.TryGetValue("content-length", out string? big) && long.Parse(big, CultureInfo.InvariantCulture) > StreamedBodyThreshold)
                {
                    bodyReader = reader;
                }
                else if (headers.TryGetValue("content-length", out string? length))
                {
                    body = await reader.ReadExactlyAsync(int.Parse(length, CultureInfo.InvariantCulture));
                }
                else if (headers.TryGetValue("transfer-encoding", out string? te) && te.Contains("chunked", StringComparison.OrdinalIgnoreCase))
                {
                    var all = new MemoryStream();
                    while (true)
                    {
                        string size = Encoding.ASCII.GetString(await reader.ReadLineAsync()).Trim();
                        int n = int.Parse(size.Split(';')[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                        if (n == 0)
                        {
                            await reader.ReadLineAsync();
                            break;
                        }
                        all.Write(await reader.ReadExactlyAsync(n));
                        await reader.ReadLineAsync();
                    }
                    body = all.ToArray();
                }
                var request = new RawRequest(first[0], first[1], headers, body) { BodyReader = bodyReader };
                Requests.Add(request);
                await _handler(request, writer);
                if (writer.IsClosing)
                {
                    return;
                }
            }
        }
        finally
        {
            writer.Close();
        }
    }

    /// <summary>Writes a whole response with a Content-Length.</summary>
    public static async Task RespondAsync(AioStreamWriter writer, int status, string body, params string[] headers)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(body);
        var head = new StringBuilder(string.Create(CultureInfo.InvariantCulture, $"HTTP/1.1 {status} {Reason(status)}\r\nContent-Length: {bytes.Length}\r\n"));
        foreach (string h in headers)
        {
            head.Append(h).Append("\r\n");
        }
        head.Append("\r\n");
        writer.Write(Encoding.ASCII.GetBytes(head.ToString()));
        writer.Write(bytes);
        await writer.DrainAsync();
    }

    /// <summary>Writes only the head of a response (the handler writes the body itself).</summary>
    public static void WriteHead(AioStreamWriter writer, int status, params string[] headers)
    {
        var head = new StringBuilder(string.Create(CultureInfo.InvariantCulture, $"HTTP/1.1 {status} {Reason(status)}\r\n"));
        foreach (string h in headers)
        {
            head.Append(h).Append("\r\n");
        }
        head.Append("\r\n");
        writer.Write(Encoding.ASCII.GetBytes(head.ToString()));
    }

    private static string Reason(int status) => status switch
    {
        200 => "OK",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        404 => "Not Found",
        500 => "Internal Server Error",
        _ => "Status",
    };

    public async ValueTask DisposeAsync()
    {
        foreach (AioTask t in _connections.Where(t => !t.Done))
        {
            t.Cancel();
        }
        if (_connections.Count > 0)
        {
            await Wait(_connections);
        }
        await _server!.DisposeAsync();
    }
}

/// <summary>The loop the client tests run on: virtual time, and a foreign-wait threshold long enough for a loaded machine.</summary>
public static class HttpTestLoop
{
    public static void Run(Func<Task> body, double foreignWaitThreshold = 0.5) =>
        AioTest.RunOn(new EventLoop(new VirtualClock { ForeignWaitThreshold = foreignWaitThreshold }), async () =>
        {
            await body();
            return true;
        });

    public static double Now => EventLoop.GetRunningLoop().Time();
}
