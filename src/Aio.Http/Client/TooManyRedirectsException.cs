namespace Aio.Http;

/// <summary>
/// A <see cref="ClientSession"/> request followed more redirects than allowed, or a redirect led back to a request it
/// had already made (a loop). <see cref="History"/> lists the hops.
/// </summary>
public sealed class TooManyRedirectsException : HttpRequestException
{
    /// <summary>Creates the exception with the redirect chain.</summary>
    public TooManyRedirectsException(string message, IReadOnlyList<Uri> history) : base(message)
    {
        History = history;
    }

    /// <summary>Creates the exception with a message.</summary>
    public TooManyRedirectsException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and the error that ended the request.</summary>
    public TooManyRedirectsException(string message, Exception innerException) : base(message, innerException) { }

    /// <summary>Creates the exception with a default message.</summary>
    public TooManyRedirectsException() : base("Too many redirects.") { }

    /// <summary>The URLs requested, in order, the first being the original request's.</summary>
    public IReadOnlyList<Uri> History { get; } = [];
}
