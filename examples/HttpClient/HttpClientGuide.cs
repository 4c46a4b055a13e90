using System.Net.Http;
using Aio;
using Aio.Cli.Tour;
using Aio.Http;
using static Aio.Asyncio;

namespace Aio.Examples.HttpClient;

/// <summary>The code of docs/http-client.md, run against the local jobs API by <c>dotnet run --project examples/HttpClient -- guide</c>.</summary>
internal static class HttpClientGuide
{
    public static async Task FirstRequest(string api)
    {
        await using var session = new ClientSession();
        await using ClientResponse response = await session.GetAsync($"{api}/jobs", new() { Query = [new("technology", "go")] });
        Console.WriteLine($"{response.Status} {response.ContentType}");
        string text = await response.TextAsync();                 // reads the body and frees the connection
        Console.WriteLine($"{text.Length} characters");
    }

    public static async Task Json(string api)
    {
        await using var session = new ClientSession(new ClientSessionOptions
        {
            BaseAddress = new Uri(api + "/"),
            Headers = new Dictionary<string, string> { ["User-Agent"] = "aio-guide/1.0" },
        });
        await using ClientResponse response = await session.GetAsync("jobs?technology=rust");
        List<Job> jobs = await response.JsonAsync<List<Job>>() ?? [];
        Console.WriteLine($"{jobs.Count} rust jobs, first: {jobs[0].Title}");
    }

    public static async Task Timeouts(string api)
    {
        var options = new ClientSessionOptions
        {
            Timeout = new ClientTimeout { Total = TimeSpan.FromSeconds(30), Read = TimeSpan.FromSeconds(0.2) },
        };
        await using var session = new ClientSession(options);
        try
        {
            await using ClientResponse response = await session.GetAsync($"{api}/jobs");   // the API takes 1 s to answer
        }
        catch (ClientTimeoutException e)
        {
            Console.WriteLine($"{e.Kind} timeout");                // Read timeout: nothing arrived for 0.2 s
        }
        // The caller's own deadline works as on any Aio await: the request is aborted, its connection closed.
        bool finished = await MoveOnAfter(0.1, async () =>
        {
            await using ClientResponse response = await session.GetAsync($"{api}/jobs", new() { Timeout = ClientTimeout.None });
        });
        Console.WriteLine($"finished within 0.1 s: {finished}, open connections: {session.OpenConnections}");
    }

    public static async Task PerHostLimit(string api)
    {
        // At most two requests to one host at a time; the others wait in a FIFO queue on the loop.
        await using var session = new ClientSession(new ClientSessionOptions { LimitPerHost = 2 });
        EventLoop loop = EventLoop.GetRunningLoop();
        double start = loop.Time();
        AioTask<int>[] fetches = JobsData.Technologies.Select(t => CreateTask(async () =>
        {
            List<Job> jobs = await JobsClient.FetchJobsAsync(session, api, t);
            return jobs.Count;
        })).ToArray();
        int[] counts = await Gather(fetches);
        Console.WriteLine($"{counts.Sum()} jobs in {loop.Time() - start:0.0} s over {session.OpenedConnections} connections");
    }

    public static async Task Streaming(string api, string path)
    {
        await using var session = new ClientSession();
        await using ClientResponse response = await session.GetAsync($"{api}/jobs");
        await using FileStream file = File.Create(path);
        await foreach (ReadOnlyMemory<byte> chunk in response.ReadChunksAsync(chunkSize: 16 * 1024))
        {
            await file.WriteAsync(chunk);                         // memory stays at one chunk, whatever the size
        }
        Console.WriteLine($"saved {response.BytesRead} bytes");
    }

    public static async Task Tracing(string api)
    {
        var options = new ClientSessionOptions
        {
            Trace = e => Console.WriteLine($"  {e.Kind,-12} {e.Method} {e.Url.PathAndQuery} status={e.Status} bytes={e.Bytes}"),
        };
        await using var session = new ClientSession(options);
        await using ClientResponse response = await session.GetAsync($"{api}/jobs?technology=java");
        await response.ReadAllBytesAsync();
    }

    public static async Task Upload(string api, string path)
    {
        await using var session = new ClientSession();
        await using FileStream file = File.OpenRead(path);
        // StreamContent is sent as it is read, never buffered whole; the file is read on the connection's thread.
        await using ClientResponse response = await session.PutAsync($"{api}/upload", new StreamContent(file));
        Console.WriteLine($"upload answered {response.Status}");
    }

    public static async Task Retries(string api)
    {
        var options = new ClientSessionOptions
        {
            // GET, HEAD, PUT, DELETE… that fail with a connection error, a timeout, 408, 429 or 5xx are tried again:
            // after 0.5, 1, 2 s (with jitter), or after the server's Retry-After.
            Retry = new ClientRetryOptions { MaxRetries = 3, BaseDelay = TimeSpan.FromSeconds(0.5) },
        };
        await using var session = new ClientSession(options);
        await using ClientResponse response = await session.GetAsync($"{api}/jobs?technology=python");
        Console.WriteLine($"{response.Status} after retries if needed");
    }

    // Not run by the guide (the local jobs API has no WebSocket endpoint): point it at any echo server.
    public static async Task WebSocketEcho(string url)
    {
        await using var session = new ClientSession();
        await using AioWebSocket ws = await session.WebSocketAsync(url, new AioWebSocketOptions { Heartbeat = TimeSpan.FromSeconds(20) });
        await ws.SendTextAsync("hello");
        await foreach (WebSocketMessage message in ws)          // until the server closes
        {
            Console.WriteLine($"{message.Kind}: {message.Text}");
            if (message.Text == "hello")
            {
                await ws.CloseAsync();                           // the close handshake; the loop then ends
            }
        }
    }
}
