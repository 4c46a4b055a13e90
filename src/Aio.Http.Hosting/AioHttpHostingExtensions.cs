// AddAioHttpApplication: an Aio.Http application served by the Generic Host's Aio loop.
//
// Design note. Aio.Hosting runs one main coroutine on a loop thread and cancels it when the host stops; the main here
// starts the server and waits. Its cancellation is the shutdown signal: in a shielded scope it runs the server's own
// two-phase shutdown (stop accepting, idle keep-alive connections closed at once, in-flight requests given the
// application's ShutdownGracePeriod with `Connection: close` on their responses, then cancelled), which is what
// Application.RunAsync does on SIGTERM. The host owns the signals, so nothing here installs handlers. The host's own
// ShutdownTimeout must be longer than the grace period: when it fires first, Aio.Hosting's hard stop cancels every
// task, the shutdown's waiting included, and the remaining requests are cut off early.
using Aio.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Aio.Http.Hosting;

/// <summary>Registers an Aio.Http <see cref="Application"/> as a .NET Generic Host service.</summary>
public static class AioHttpHostingExtensions
{
    /// <summary>
    /// Serves an application built by <paramref name="configure"/> on the host's Aio loop (see
    /// <see cref="AioHostingExtensions.AddAioLoop(IServiceCollection, Func{IServiceProvider, AioTask}, Action{AioLoopOptions}?)"/>;
    /// this registration is that loop, so use it instead of <c>AddAioLoop</c>, not next to it). The application logs
    /// through the host's <see cref="ILoggerFactory"/>. When the host stops, the server shuts down in two phases: it
    /// stops accepting and closes idle keep-alive connections at once; in-flight requests get the application's
    /// <see cref="Application.ShutdownGracePeriod"/> to finish (their responses carry <c>Connection: close</c>) and are
    /// then cancelled. Keep the host's <c>HostOptions.ShutdownTimeout</c> longer than the grace period.
    /// </summary>
    /// <param name="services">The host's service collection.</param>
    /// <param name="configure">Adds routes and middlewares to the new application, with the host's services at hand; it runs on the loop.</param>
    /// <param name="options">Adjusts <see cref="AioHttpHostingOptions"/> (address, port, the started callback, the loop's options).</param>
    /// <returns><paramref name="services"/>, for chaining.</returns>
    public static IServiceCollection AddAioHttpApplication(this IServiceCollection services,
        Action<IServiceProvider, Application> configure, Action<AioHttpHostingOptions>? options = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        var settings = new AioHttpHostingOptions();
        options?.Invoke(settings);
        return services.AddAioLoop(sp => ServeAsync(sp, configure, settings), settings.ConfigureLoop);
    }

    /// <summary>
    /// Serves an application built by <paramref name="configure"/> on the host's Aio loop; see
    /// <see cref="AddAioHttpApplication(IServiceCollection, Action{IServiceProvider, Application}, Action{AioHttpHostingOptions}?)"/>.
    /// </summary>
    /// <param name="services">The host's service collection.</param>
    /// <param name="configure">Adds routes and middlewares to the new application; it runs on the loop.</param>
    /// <param name="options">Adjusts <see cref="AioHttpHostingOptions"/>.</param>
    /// <returns><paramref name="services"/>, for chaining.</returns>
    public static IServiceCollection AddAioHttpApplication(this IServiceCollection services,
        Action<Application> configure, Action<AioHttpHostingOptions>? options = null)
    {
        ArgumentNullException.ThrowIfNull(configure);
        return services.AddAioHttpApplication((_, app) => configure(app), options);
    }

    // The main coroutine: build, listen, wait for the host's stop (the main task's cancellation), shut down gracefully.
    private static async AioTask ServeAsync(IServiceProvider services, Action<IServiceProvider, Application> configure, AioHttpHostingOptions options)
    {
        var app = new Application { LoggerFactory = services.GetService<ILoggerFactory>() };
        configure(services, app);
        HttpServer server = await app.StartAsync(options.Host, options.Port, options.ServerOptions);
        try
        {
            options.Started?.Invoke(server);
            await new AioEvent().WaitAsync();   // never set: the host's stop cancels this wait
        }
        finally
        {
            double grace = app.ShutdownGracePeriod;
            await new CancelScope(shield: true).RunAsync(() => server.ShutdownAsync(grace));
        }
    }
}
