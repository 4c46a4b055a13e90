namespace Aio.Net;

/// <summary>
/// A line or separator-delimited chunk is longer than the reader's limit (asyncio's <c>LimitOverrunError</c>).
/// From <see cref="AioStreamReader.ReadUntilAsync(ReadOnlyMemory{byte})"/> the buffer is left intact and
/// <see cref="Consumed"/> says how many bytes to consume to get past the problem; from
/// <see cref="AioStreamReader.ReadLineAsync"/> (where asyncio raises ValueError) the offending data has been consumed.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Naming", "CA1710:Identifiers should have correct suffix", Justification = "asyncio's name, kept on purpose.")]
public sealed class LimitOverrunError : Exception
{
    /// <summary>Creates the error.</summary>
    public LimitOverrunError(string message, int consumed)
        : base(message)
    {
        Consumed = consumed;
    }

    /// <summary>The number of bytes to consume (read away) to get past the overrun.</summary>
    public int Consumed { get; }
}
