// Snippets of docs/http-server.md that Program.cs does not show: compiled with the example, not run by it.
using Aio;
using Aio.Http;
using Aio.Http.Testing;
using static Aio.Asyncio;

internal static class Snippets
{
    public static void Limits(Application app)
    {
        app.Limits.MaxRequestBodySize = 1_000_000;      // 413 over 1 MB
        app.Limits.RequestHeadersTimeout = 10;          // 408 when a head takes more than 10 s
        app.Limits.MaxConcurrentConnections = 10_000;
        app.ShutdownGracePeriod = 30;
    }

    public static void Upload(Application app) =>
        app.Router.Post("/upload", async req =>
        {
            req.MaxBodySize = 100_000_000;              // this route accepts up to 100 MB
            var buffer = new byte[64 * 1024];
            long total = 0;
            int n;
            while ((n = await req.ReadAsync(buffer)) > 0)   // waits for the client; back-pressure when not reading
            {
                total += n;
            }
            return Response.Json(new { received = total });
        });

    public static void Streaming(Application app) =>
        app.Router.Get("/countdown", _ => Response.Stream(async body =>
        {
            for (int i = 3; i > 0; i--)
            {
                await body.WriteAsync($"{i}\n");        // sent as a chunk; waits while the client does not read
                await Sleep(1);
            }
            await body.WriteAsync("liftoff\n");
        }, "text/plain"));

    public static void Cancellation(Application app) =>
        app.Router.Get("/report", async req =>
        {
            // The request's cancel scope: if the client disconnects, this await throws CancelledError.
            string report = await FailAfter(5, () => BuildReportAsync(req.Query["id"]));
            return Response.Text(report);
        });

    private static async Task<string> BuildReportAsync(string? id)
    {
        await Sleep(0.1);
        return $"report {id}";
    }

    public static async Task TestAsync()
    {
        var app = TodoApi.Create(new TodoStore());
        await using var client = new TestClient(app);
        TestResponse created = await client.PostJsonAsync("/todos", new { title = "write docs" });
        TestResponse fetched = await client.GetAsync(created.Header("Location")!);
        Console.WriteLine($"{created.Status} {fetched.Text}");   // 201 {"id":1,"title":"write docs","done":false}
    }

    public static async Task StartAndStopAsync(Application app)
    {
        HttpServer server = await app.StartAsync("127.0.0.1", 0);   // port 0: the system chooses
        Console.WriteLine($"serving on port {server.Port}");
        await Sleep(60);
        await server.ShutdownAsync(gracePeriod: 10);
    }
}
