namespace Aio;

/// <summary>asyncio's <c>BrokenBarrierError</c>: an <see cref="AioBarrier"/> was aborted, or reset while the task waited.</summary>
public sealed class BrokenBarrierError : InvalidOperationException
{
    /// <summary>Creates the error with a default message.</summary>
    public BrokenBarrierError() : base("The barrier is broken.") { }

    /// <summary>Creates the error with <paramref name="message"/>.</summary>
    public BrokenBarrierError(string message) : base(message) { }

    /// <summary>Creates the error with <paramref name="message"/> and the exception that caused it.</summary>
    public BrokenBarrierError(string message, Exception innerException) : base(message, innerException) { }
}
