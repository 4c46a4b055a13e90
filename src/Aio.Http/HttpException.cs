namespace Aio.Http;

/// <summary>
/// Thrown by a handler (or a middleware) to answer with an HTTP error status: <c>throw new HttpException(404, "No
/// such user")</c> gives a 404 whose text body is the message. The server throws it too, from the request body
/// methods, when the client sends a malformed or over-limit body (400, 408, 413); uncaught, it becomes the response.
/// </summary>
public class HttpException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="status">The status code to answer (4xx or 5xx).</param>
    /// <param name="message">The body text of the response; null: the status's reason phrase.</param>
    public HttpException(int status, string? message = null)
        : base(message ?? $"{status} {Internal.StatusLines.Reason(status)}")
    {
        if (status < 400 || status > 599)
        {
            throw new ArgumentOutOfRangeException(nameof(status), status, "An HttpException carries an error status (400-599); return a Response for other statuses.");
        }
        Status = status;
    }

    /// <summary>Creates a 500 exception (for serializers and tools that need a parameterless constructor).</summary>
    public HttpException()
        : this(500)
    {
    }

    /// <summary>Creates a 500 exception with a message.</summary>
    public HttpException(string message)
        : this(500, message)
    {
    }

    /// <summary>Creates a 500 exception with a message and an inner exception.</summary>
    public HttpException(string message, Exception innerException)
        : base(message, innerException)
    {
        Status = 500;
    }

    /// <summary>The status code the response carries.</summary>
    public int Status { get; }

    /// <summary>True when the connection must close after the response (the request's framing cannot be trusted).</summary>
    internal bool CloseConnection { get; init; }

    /// <summary>The response this exception is answered with.</summary>
    internal Response ToResponse() => Response.Text(Message, Status);
}
