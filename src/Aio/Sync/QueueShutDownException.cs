namespace Aio;

/// <summary>asyncio's <c>QueueShutDown</c>: thrown by an AioQueue operation that cannot complete (see its message for what to do).</summary>
public sealed class QueueShutDownException : InvalidOperationException
{
    /// <summary>Creates the exception with a default message.</summary>
    public QueueShutDownException() : base("QueueShutDown") { }

    /// <summary>Creates the exception with <paramref name="message"/>.</summary>
    public QueueShutDownException(string message) : base(message) { }

    /// <summary>Creates the exception with <paramref name="message"/> and the exception that caused it.</summary>
    public QueueShutDownException(string message, Exception innerException) : base(message, innerException) { }
}
