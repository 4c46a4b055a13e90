namespace Aio;

/// <summary>asyncio's <c>QueueEmpty</c>: thrown by an AioQueue operation that cannot complete (see its message for what to do).</summary>
public sealed class QueueEmptyException : InvalidOperationException
{
    /// <summary>Creates the exception with a default message.</summary>
    public QueueEmptyException() : base("QueueEmpty") { }

    /// <summary>Creates the exception with <paramref name="message"/>.</summary>
    public QueueEmptyException(string message) : base(message) { }

    /// <summary>Creates the exception with <paramref name="message"/> and the exception that caused it.</summary>
    public QueueEmptyException(string message, Exception innerException) : base(message, innerException) { }
}
