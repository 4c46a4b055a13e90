using System.Globalization;
using Aio.Http;
using static Aio.Asyncio;

namespace Aio.Cli.Tour;

/// <summary>
/// The tour's local "jobs API" on Aio.Http's server, so the tour runs offline (examples/HttpClient compiles this file too): <c>GET /jobs?technology=X</c> answers the
/// postings of the bundled data set for that technology (all of them without one) as JSON, after a delay, like a slow
/// remote API — so three requests made together visibly take one delay, not three. <c>&amp;delay=S</c> sets one
/// request's delay in seconds. <c>GET /health</c> (and its automatic <c>HEAD</c>) answers "ok" after the same delay;
/// <c>PUT /upload</c> reads the body as it arrives and answers how many bytes came.
/// </summary>
internal static class JobsApiServer
{
    /// <summary>The delay of every answer unless the request says otherwise, in seconds.</summary>
    public const double DefaultDelay = 1.0;

    // The API: one route per endpoint; each handler is its own Aio task, so a delay is a plain Sleep.
    public static Application Create(IReadOnlyList<Job> jobs, double delay = DefaultDelay)
    {
        var app = new Application();
        app.Limits.MaxRequestBodySize = null;          // /upload takes any size (a declared length over a limit is refused before the handler runs)
        app.Router.Get("/jobs", async request =>
        {
            await Sleep(DelayOf(request, delay));
            string? technology = request.Query["technology"];
            return Response.Json(jobs.Where(j => technology is null || j.Technology == technology));
        });
        app.Router.Get("/health", async request =>
        {
            await Sleep(DelayOf(request, delay));
            return Response.Text("ok");
        });
        app.Router.Put("/upload", async request =>
        {
            byte[] buffer = new byte[64 * 1024];
            long total = 0;
            int n;
            while ((n = await request.ReadAsync(buffer)) > 0)
            {
                total += n;
            }
            return Response.Json(new { bytes = total });
        });
        return app;
    }

    /// <summary>Starts the API with the bundled data set on 127.0.0.1 and a free port; returns the server and its base URL.</summary>
    public static async Task<(HttpServer Server, string Url)> StartAsync(double delay = DefaultDelay)
    {
        HttpServer server = await Create(JobsData.Load(), delay).StartAsync("127.0.0.1", 0);
        return (server, $"http://127.0.0.1:{server.Port}");
    }

    private static double DelayOf(Request request, double delay) =>
        double.TryParse(request.Query["delay"], NumberStyles.Float, CultureInfo.InvariantCulture, out double s) && s >= 0 ? s : delay;
}
