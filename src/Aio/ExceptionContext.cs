namespace Aio;

/// <summary>
/// What the loop passes to its exception handler: an error nobody else could receive (a failing
/// callback, a task exception never retrieved, an error during shutdown). asyncio's context dict.
/// </summary>
public sealed record ExceptionContext
{
    /// <summary>What happened, in one sentence (e.g. "Exception in callback Program.Tick").</summary>
    public required string Message { get; init; }

    /// <summary>The exception, when there is one.</summary>
    public Exception? Exception { get; init; }

    /// <summary>The future or task concerned, when there is one.</summary>
    public AioFuture? Future { get; init; }

    /// <summary>The handle whose callback failed, when there is one.</summary>
    public Handle? Handle { get; init; }

    /// <summary>The protocol, transport or other object concerned, when there is one.</summary>
    public object? Source { get; init; }

    /// <summary>The message followed by the exception, as the default handler logs it.</summary>
    public override string ToString() => Exception is null ? Message : $"{Message}: {Exception}";
}
