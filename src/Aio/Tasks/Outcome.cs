namespace Aio;

/// <summary>How one awaited task ended, as <see cref="Asyncio.GatherSettled{T}(AioTask{T}[])"/> reports it (asyncio's <c>return_exceptions=True</c>).</summary>
/// <typeparam name="T">The task's result type.</typeparam>
public readonly record struct Outcome<T>
{
    /// <summary>The value, when <see cref="Succeeded"/>.</summary>
    public T Value { get; init; }

    /// <summary>The exception (a <see cref="CancelledError"/> when the task was cancelled), or null when it succeeded.</summary>
    public Exception? Exception { get; init; }

    /// <summary>True when the task returned a value.</summary>
    public bool Succeeded => Exception is null;

    /// <summary>True when the task was cancelled.</summary>
    public bool Cancelled => Exception is CancelledError;

    /// <summary>Short description: <c>Ok(42)</c>, <c>Error(InvalidOperationException: …)</c>, <c>Cancelled</c>.</summary>
    public override string ToString() =>
        Succeeded ? $"Ok({Value})" : Cancelled ? "Cancelled" : $"Error({Exception!.GetType().Name}: {Exception.Message})";
}

/// <summary>When <see cref="Asyncio.Wait(IEnumerable{AioTask}, double?, ReturnWhen)"/> returns.</summary>
public enum ReturnWhen
{
    /// <summary>When every task is done (the default).</summary>
    AllCompleted,
    /// <summary>As soon as one task is done.</summary>
    FirstCompleted,
    /// <summary>As soon as one task fails with an exception (not a cancellation), or when all are done.</summary>
    FirstException,
}
