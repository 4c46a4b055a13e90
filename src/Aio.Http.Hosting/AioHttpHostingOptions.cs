using Aio.Hosting;
using Aio.Net;

namespace Aio.Http.Hosting;

/// <summary>Where and how <see cref="AioHttpHostingExtensions.AddAioHttpApplication(Microsoft.Extensions.DependencyInjection.IServiceCollection, Action{IServiceProvider, Application}, Action{AioHttpHostingOptions}?)"/> serves its application.</summary>
public sealed class AioHttpHostingOptions
{
    /// <summary>Address to listen on (null: every interface). Defaults to 127.0.0.1.</summary>
    public string? Host { get; set; } = "127.0.0.1";

    /// <summary>Port to listen on (0: the system chooses; <see cref="Started"/> gets the server, whose <see cref="HttpServer.Port"/> says which). Defaults to 8080.</summary>
    public int Port { get; set; } = 8080;

    /// <summary>Socket options of the listening server (backlog, reuse-port, TLS…); null: the defaults.</summary>
    public ServerOptions? ServerOptions { get; set; }

    /// <summary>Called on the loop once the server listens (to log its address, or learn the port chosen for port 0).</summary>
    public Action<HttpServer>? Started { get; set; }

    /// <summary>How the hosted loop runs (its thread name, debug mode, hard-stop grace); see <see cref="AioLoopOptions"/>.</summary>
    public Action<AioLoopOptions>? ConfigureLoop { get; set; }
}
