using System.Diagnostics;
using System.Runtime.InteropServices;
using Aio.Http.Internal;
using Microsoft.Extensions.Logging;

namespace Aio.Http;

/// <summary>
/// A web application (aiohttp's <c>web.Application</c>): a <see cref="Router"/>, middlewares, limits and settings;
/// <see cref="RunAsync"/> serves it until SIGINT or SIGTERM and then shuts down gracefully.
/// </summary>
/// <remarks>
/// <para>Each request's handler runs as its own Aio task, in a cancel scope that is cancelled when the client
/// disconnects, so cancel scopes, timeouts, task groups and the rest of Aio work inside handlers.</para>
/// <para>Configure the application before it starts serving; it belongs to the loop that serves it.</para>
/// </remarks>
[DebuggerDisplay("{ToString(),nq}")]
public sealed class Application
{
    private readonly List<Middleware> _middlewares = new();
    private bool _started;

    /// <summary>The routes.</summary>
    public Router Router { get; } = new();

    /// <summary>The limits every connection is held to (Kestrel's defaults).</summary>
    public HttpLimits Limits { get; } = new();

    /// <summary>
    /// When true, a handler's unhandled exception is answered with its text (a 500 whose body is the exception);
    /// when false (the default) the client gets "500 Internal Server Error" and the exception goes to the log only.
    /// </summary>
    public bool Debug { get; set; }

    /// <summary>Seconds in-flight requests get to finish during a graceful shutdown (<see cref="RunAsync"/>). Defaults to 10.</summary>
    public double ShutdownGracePeriod { get; set; } = 10;

    /// <summary>Where the server logs ("Aio.Http.Server": errors and protocol events; "Aio.Http.Access": one line per request). Null: no logging.</summary>
    public ILoggerFactory? LoggerFactory { get; set; }

    /// <summary>Adds a middleware; the first added is the outermost (it sees the request first and the response last).</summary>
    /// <exception cref="InvalidOperationException">The application is already serving.</exception>
    public Application Use(Middleware middleware)
    {
        ArgumentNullException.ThrowIfNull(middleware);
        if (_started)
        {
            HttpThrowHelper.ServerStarted();
        }
        _middlewares.Add(middleware);
        return this;
    }

    /// <summary>
    /// Starts serving on <paramref name="host"/>:<paramref name="port"/> (port 0: the system chooses) and returns the
    /// running server; stop it with <see cref="HttpServer.ShutdownAsync"/>.
    /// </summary>
    public async Task<HttpServer> StartAsync(string? host, int port, ServerOptions? options = null)
    {
        EventLoop loop = EventLoop.GetRunningLoop();
        var core = new HttpServerCore(this, loop);
        Server server = await loop.CreateServerAsync(() => new HttpConnection(core), host, port, options);
        var http = new HttpServer(server, core);
        core.Log.Listening(string.Join(", ", server.Sockets));
        return http;
    }

    /// <summary>
    /// Serves on <paramref name="host"/>:<paramref name="port"/> until SIGINT (Ctrl+C) or SIGTERM, then shuts down
    /// gracefully: stops accepting, closes idle connections, gives in-flight requests
    /// <see cref="ShutdownGracePeriod"/> seconds (their responses carry <c>Connection: close</c>), then cancels what
    /// is left, and returns. A second signal ends the process at once. Cancelling the calling task shuts down the
    /// same way.
    /// </summary>
    /// <param name="host">Address to listen on.</param>
    /// <param name="port">Port (0: the system chooses).</param>
    /// <param name="started">Called once listening, with the server (to print its address, for instance).</param>
    public async Task RunAsync(string? host = "127.0.0.1", int port = 8080, Action<HttpServer>? started = null)
    {
        EventLoop loop = EventLoop.GetRunningLoop();
        HttpServer server = await StartAsync(host, port);
        started?.Invoke(server);
        var stop = new AioEvent();
        void OnSignal()
        {
            // The first signal starts the graceful shutdown; removing the handlers gives the next one its default
            // action, which ends the process at once.
            loop.RemoveSignalHandler(PosixSignal.SIGINT);
            loop.RemoveSignalHandler(PosixSignal.SIGTERM);
            stop.Set();
        }
        loop.AddSignalHandler(PosixSignal.SIGINT, OnSignal);
        loop.AddSignalHandler(PosixSignal.SIGTERM, OnSignal);
        try
        {
            await stop.WaitAsync();
        }
        finally
        {
            loop.RemoveSignalHandler(PosixSignal.SIGINT);
            loop.RemoveSignalHandler(PosixSignal.SIGTERM);
            double grace = ShutdownGracePeriod;
            await new CancelScope(shield: true).RunAsync(() => server.ShutdownAsync(grace));
        }
    }

    /// <summary>Composes the middlewares around the router; freezes the application.</summary>
    internal Handler BuildPipeline()
    {
        _started = true;
        Router router = Router;
        Handler chain = request => Dispatch(router, request);
        for (int i = _middlewares.Count - 1; i >= 0; i--)
        {
            Middleware m = _middlewares[i];
            Handler next = chain;
            chain = request => m(request, next);
        }
        return chain;
    }

    private static ValueTask<Response> Dispatch(Router router, Request request)
    {
        if (request.Head.IsAsterisk)
        {
            var options = Response.Status(200);
            options.Headers["Allow"] = "GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS";
            return new ValueTask<Response>(options);
        }
        ReadOnlySpan<byte> path = request.RawPathSpan;
        Route? route = router.Match(request.Method, path, request.RouteValues, out bool pathKnown);
        if (route is not null)
        {
            request.MatchedRoute = route;
            return route.Handler(request);
        }
        if (pathKnown)
        {
            var r = Response.Text("405 Method Not Allowed", 405);
            r.Headers["Allow"] = router.AllowedMethods(path);
            return new ValueTask<Response>(r);
        }
        return new ValueTask<Response>(Response.Text("404 Not Found", 404));
    }

    /// <inheritdoc/>
    public override string ToString() => $"<Application routes:{Router.Routes.Count} middlewares:{_middlewares.Count}>";
}
