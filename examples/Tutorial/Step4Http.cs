using System.Diagnostics;
using Aio;
using Aio.Net;
using static Aio.Asyncio;

namespace Aio.Examples.Tutorial;

/// <summary>Step 4: three HTTP requests made concurrently and gathered: about one latency, not three.</summary>
public static class Step4Http
{
    private static readonly string[] s_paths = ["/python", "/csharp", "/aio"];

    public static async Task<string> Fetch(HttpClient http, string url)
    {
        // HttpClient is a foreign API: pass the task's token so cancelling the task cancels the request.
        using HttpResponseMessage response = await http.GetAsync(url, CurrentToken);
        string body = await response.Content.ReadAsStringAsync(CurrentToken);
        return $"{url} -> {(int)response.StatusCode} {body.Trim()}";
    }

    public static async Task<double> ThreeRequestsTogether()
    {
        (Server server, string baseUrl) = await LocalWebServer.StartAsync();
        await using (server)
        {
            using var http = new HttpClient();
            EventLoop loop = EventLoop.GetRunningLoop();
            double start = loop.Time();
            AioTask<string>[] requests = s_paths
                .Select(path => CreateTask(() => Fetch(http, baseUrl + path)))
                .ToArray();
            foreach (string line in await Gather(requests))
            {
                Console.WriteLine($"  {line}");
            }
            return loop.Time() - start;
        }
    }

    public static void Run()
    {
        var wall = Stopwatch.StartNew();
        double seconds = Asyncio.Run(ThreeRequestsTogether);
        Console.WriteLine($"elapsed: {seconds:0.00} s for three requests of {LocalWebServer.Latency:0.0} s each ({wall.Elapsed.TotalSeconds:0.00} s wall)");
    }
}
