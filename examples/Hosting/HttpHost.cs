using Aio;
using Aio.Http;
using Aio.Http.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

/// <summary>
/// docs/hosting.md's second example: an Aio.Http application as the host's service (<c>-- http</c>). Ctrl+C stops the host:
/// the server stops accepting, closes idle keep-alive connections, lets requests in flight finish for up to the
/// application's grace period, then cancels them.
/// </summary>
internal static class HttpHost
{
    public static async Task RunAsync(string[] args)
    {
        HostApplicationBuilder builder = Host.CreateApplicationBuilder(args);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(15));   // longer than the grace period
        builder.Services.AddAioHttpApplication(app =>
        {
            app.ShutdownGracePeriod = 10;
            app.Router.Get("/", _ => Response.Text("Hello from a hosted Aio.Http application"));
            app.Router.Get("/slow", async _ =>
            {
                await Asyncio.Sleep(5);                    // try Ctrl+C during it: the response still arrives
                return Response.Text("done");
            });
        }, options =>
        {
            options.Port = 8080;
            options.Started = server => Console.WriteLine($"serving on http://127.0.0.1:{server.Port}; press Ctrl+C to stop");
        });
        using IHost host = builder.Build();
        await host.RunAsync();
    }
}
