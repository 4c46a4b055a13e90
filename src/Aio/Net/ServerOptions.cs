using System.Net.Security;

namespace Aio.Net;

/// <summary>Options of a listening server (<see cref="EventLoopNetExtensions.CreateServerAsync"/>): asyncio's keyword arguments of <c>create_server</c>.</summary>
public sealed class ServerOptions
{
    /// <summary>The listen backlog: connections the kernel queues before they are accepted. Default 100 (asyncio's).</summary>
    public int Backlog { get; init; } = 100;

    /// <summary>SO_REUSEADDR on the listening sockets (restart without waiting for TIME_WAIT). Default true on Unix, as asyncio.</summary>
    public bool ReuseAddress { get; init; } = !OperatingSystem.IsWindows();

    /// <summary>SO_REUSEPORT: several processes may listen on the same port (Linux). Default false.</summary>
    public bool ReusePort { get; init; }

    /// <summary>TLS: when set, every accepted connection runs an <see cref="SslStream"/> server handshake with these options. Default: plain TCP.</summary>
    public SslServerAuthenticationOptions? Ssl { get; init; }

    /// <summary>Seconds the TLS handshake may take before the connection is aborted. Default 60.</summary>
    public double SslHandshakeTimeout { get; init; } = 60.0;

    /// <summary>Start accepting at once. Default true; when false call <see cref="Server.StartServing"/> or <see cref="Server.ServeForeverAsync"/>.</summary>
    public bool StartServing { get; init; } = true;
}
