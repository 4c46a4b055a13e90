using System.Net.Security;

namespace Aio.Net;

/// <summary>
/// Options of the stream functions (<see cref="Asyncio.OpenConnectionAsync"/>, <see cref="Asyncio.StartServerAsync"/>):
/// the reader's limit plus the connection or server options.
/// </summary>
public sealed class StreamOptions
{
    /// <summary>
    /// The reader's buffer limit in bytes: ReadLine/ReadUntil fail past it, and reading from the socket pauses
    /// while more than twice this is buffered. Default 64 KiB (asyncio's). A large limit lets a peer make the
    /// reader buffer that much memory.
    /// </summary>
    public int Limit { get; init; } = AioStreamReader.DefaultLimit;

    /// <summary>Client TLS (OpenConnection): see <see cref="ConnectionOptions.Ssl"/>.</summary>
    public SslClientAuthenticationOptions? SslClient { get; init; }

    /// <summary>Server TLS (StartServer): see <see cref="ServerOptions.Ssl"/>.</summary>
    public SslServerAuthenticationOptions? SslServer { get; init; }

    /// <summary>Seconds the TLS handshake may take. Default 60.</summary>
    public double SslHandshakeTimeout { get; init; } = 60.0;

    /// <summary>Happy eyeballs delay for OpenConnection; see <see cref="ConnectionOptions.HappyEyeballsDelay"/>. Default 0.25 s.</summary>
    public double? HappyEyeballsDelay { get; init; } = 0.25;

    /// <summary>The listen backlog for StartServer. Default 100.</summary>
    public int Backlog { get; init; } = 100;

    internal ConnectionOptions ToConnectionOptions() => new()
    {
        Ssl = SslClient,
        SslHandshakeTimeout = SslHandshakeTimeout,
        HappyEyeballsDelay = HappyEyeballsDelay,
    };

    internal ServerOptions ToServerOptions() => new()
    {
        Ssl = SslServer,
        SslHandshakeTimeout = SslHandshakeTimeout,
        Backlog = Backlog,
    };
}
