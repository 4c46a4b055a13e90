namespace Aio.Net;

/// <summary>
/// The stream ended before a read got the bytes it needed (asyncio's <c>IncompleteReadError</c>):
/// <see cref="AioStreamReader.ReadExactlyAsync"/> or <see cref="AioStreamReader.ReadUntilAsync(ReadOnlyMemory{byte})"/> at EOF.
/// </summary>
public sealed class IncompleteReadError : EndOfStreamException
{
    /// <summary>Creates the error for <paramref name="partial"/> bytes read of <paramref name="expected"/> (null: unknown).</summary>
    public IncompleteReadError(byte[] partial, int? expected)
        : base($"{partial?.Length ?? 0} bytes read on a total of {(expected is int e ? e.ToString(System.Globalization.CultureInfo.InvariantCulture) : "undefined")} expected bytes")
    {
        ArgumentNullException.ThrowIfNull(partial);
        Partial = partial;
        Expected = expected;
    }

    /// <summary>The bytes read before EOF (the reader's buffer is empty afterwards).</summary>
    public byte[] Partial { get; }

    /// <summary>How many bytes were expected, or null when reading up to a separator.</summary>
    public int? Expected { get; }
}
