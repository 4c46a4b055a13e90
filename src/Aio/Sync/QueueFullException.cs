namespace Aio;

/// <summary>asyncio's <c>QueueFull</c>: thrown by an AioQueue operation that cannot complete (see its message for what to do).</summary>
public sealed class QueueFullException : InvalidOperationException
{
    /// <summary>Creates the exception with a default message.</summary>
    public QueueFullException() : base("QueueFull") { }

    /// <summary>Creates the exception with <paramref name="message"/>.</summary>
    public QueueFullException(string message) : base(message) { }

    /// <summary>Creates the exception with <paramref name="message"/> and the exception that caused it.</summary>
    public QueueFullException(string message, Exception innerException) : base(message, innerException) { }
}
