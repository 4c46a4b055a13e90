namespace Aio.Http;

/// <summary>Which limit of a <see cref="ClientTimeout"/> a <see cref="ClientTimeoutException"/> reports.</summary>
public enum ClientTimeoutKind
{
    /// <summary><see cref="ClientTimeout.Total"/>: the whole request took too long.</summary>
    Total,

    /// <summary><see cref="ClientTimeout.Connect"/>: no place in the connection queues, or no connection, in time.</summary>
    Connect,

    /// <summary><see cref="ClientTimeout.SocketConnect"/>: the TCP connect of a new connection took too long.</summary>
    SocketConnect,

    /// <summary><see cref="ClientTimeout.Read"/>: the server sent nothing for too long (headers or the next body chunk).</summary>
    Read,
}
