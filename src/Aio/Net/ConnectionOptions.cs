using System.Net;
using System.Net.Security;

namespace Aio.Net;

/// <summary>Options of an outgoing connection (<see cref="EventLoopNetExtensions.CreateConnectionAsync"/>): asyncio's keyword arguments of <c>create_connection</c>.</summary>
public sealed class ConnectionOptions
{
    /// <summary>
    /// TLS: when set, the connection is wrapped in an <see cref="SslStream"/> with these options (a null
    /// <see cref="SslClientAuthenticationOptions.TargetHost"/> is filled with the host name). Default: plain TCP.
    /// </summary>
    public SslClientAuthenticationOptions? Ssl { get; init; }

    /// <summary>Seconds the TLS handshake may take before the connection is aborted. Default 60 (asyncio's).</summary>
    public double SslHandshakeTimeout { get; init; } = 60.0;

    /// <summary>
    /// Happy eyeballs (RFC 8305): seconds to wait for one address before also trying the next. Default 0.25;
    /// null turns it off (addresses are tried one after the other, each to its end).
    /// </summary>
    public double? HappyEyeballsDelay { get; init; } = 0.25;

    /// <summary>Interleave address families (IPv6, IPv4, IPv6, …) when trying the addresses. Default true.</summary>
    public bool InterleaveFamilies { get; init; } = true;

    /// <summary>A local address to bind the socket to before connecting. Default: none (the system picks).</summary>
    public IPEndPoint? LocalEndPoint { get; init; }
}
