namespace Aio.Http;

/// <summary>
/// The time limits of a <see cref="ClientSession"/> request (aiohttp's <c>ClientTimeout</c>), in the loop's time, so
/// they follow a virtual clock in tests. A null limit is no limit.
/// </summary>
/// <remarks>
/// <para><see cref="Total"/> runs from the call until the body has been read (or the response disposed): queueing for a
/// connection, connecting, sending, every redirect and every read of the body.</para>
/// <para><see cref="Connect"/> bounds the wait for a free place in the session's queues (the overall and per-host
/// limits) plus the set-up of a new connection that request triggers; <see cref="SocketConnect"/> bounds the TCP
/// connect of each new connection alone.</para>
/// <para><see cref="Read"/> is an idle limit, not a total: the longest wait for the response headers (from the moment the
/// request is handed to the connection pool) and then for each chunk of the body. A download that keeps receiving never
/// hits it.</para>
/// </remarks>
public sealed record ClientTimeout
{
    /// <summary>aiohttp's defaults: 5 minutes in total, 30 seconds per TCP connect, no connect-queue or read limit.</summary>
    public static ClientTimeout Default { get; } = new() { Total = TimeSpan.FromMinutes(5), SocketConnect = TimeSpan.FromSeconds(30) };

    /// <summary>No limits at all (the ambient cancel scope still applies).</summary>
    public static ClientTimeout None { get; } = new();

    /// <summary>The whole request, from the call until the body is read. Default 5 minutes.</summary>
    public TimeSpan? Total { get; init; }

    /// <summary>The wait for a free place in the connection queues plus the set-up of a new connection. Default none.</summary>
    public TimeSpan? Connect { get; init; }

    /// <summary>Each new connection's TCP connect. Default 30 seconds.</summary>
    public TimeSpan? SocketConnect { get; init; }

    /// <summary>The longest idle wait: for the response headers, then for each chunk of the body. Default none.</summary>
    public TimeSpan? Read { get; init; }
}
