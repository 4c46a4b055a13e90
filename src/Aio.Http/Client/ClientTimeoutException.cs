namespace Aio.Http;

/// <summary>
/// A <see cref="ClientSession"/> request ran past one of its <see cref="ClientTimeout"/> limits (aiohttp's
/// <c>ServerTimeoutError</c>, <c>ConnectionTimeoutError</c> and the total timeout's <c>TimeoutError</c>). The request was
/// aborted and its connection freed. A cancellation from an enclosing cancel scope is a <see cref="CancelledError"/>, not this.
/// </summary>
public sealed class ClientTimeoutException : TimeoutException
{
    /// <summary>Creates the exception for <paramref name="kind"/>.</summary>
    public ClientTimeoutException(ClientTimeoutKind kind, string message) : base(message)
    {
        Kind = kind;
    }

    /// <summary>Creates the exception for <paramref name="kind"/> with the error that ended the operation.</summary>
    public ClientTimeoutException(ClientTimeoutKind kind, string message, Exception? innerException) : base(message, innerException)
    {
        Kind = kind;
    }

    /// <summary>Creates the exception with a message (kind <see cref="ClientTimeoutKind.Total"/>).</summary>
    public ClientTimeoutException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and the error that ended the operation.</summary>
    public ClientTimeoutException(string message, Exception innerException) : base(message, innerException) { }

    /// <summary>Creates the exception with a default message.</summary>
    public ClientTimeoutException() : base("A client request timed out.") { }

    /// <summary>The limit that was exceeded.</summary>
    public ClientTimeoutKind Kind { get; }
}
