using System.Diagnostics;
using System.Text;
using Aio.Http.Internal;

namespace Aio.Http;

/// <summary>
/// The body of a streamed response (<see cref="Response.Stream"/>): each write is sent at once (as a chunk when the
/// length is unknown) and waits while the client does not read, so a slow client slows the writer down instead of
/// filling memory.
/// </summary>
/// <remarks>Use it inside the callback only, on the loop's thread. A disconnected client cancels the request's scope.</remarks>
[DebuggerDisplay("{ToString(),nq}")]
public sealed class ResponseBodyWriter
{
    private readonly HttpConnection _connection;
    private readonly long? _length;

    internal ResponseBodyWriter(HttpConnection connection, bool chunked, bool suppressBody, long? length)
    {
        _connection = connection;
        Chunked = chunked;
        SuppressBody = suppressBody;
        _length = length;
    }

    internal bool Chunked { get; }

    internal bool SuppressBody { get; }

    internal bool Finished { get; set; }

    /// <summary>Body bytes written so far.</summary>
    public long Written { get; private set; }

    /// <summary>Sends <paramref name="data"/>; returns once the connection's write buffer is under its high-water mark.</summary>
    /// <exception cref="IOException">The client disconnected.</exception>
    /// <exception cref="InvalidOperationException">The callback has returned, or more bytes than the declared length.</exception>
    public ValueTask WriteAsync(ReadOnlyMemory<byte> data)
    {
        if (Finished)
        {
            HttpThrowHelper.StreamFinished();
        }
        if (_length is long declared && Written + data.Length > declared)
        {
            HttpThrowHelper.StreamLengthExceeded(declared);
        }
        Written += data.Length;
        return _connection.WriteBodyAsync(this, data);
    }

    /// <summary>Sends <paramref name="count"/> bytes of <paramref name="file"/> from <paramref name="offset"/>: sendfile(2) on a plain socket, a bounded copy otherwise.</summary>
    internal ValueTask SendFileAsync(Microsoft.Win32.SafeHandles.SafeFileHandle file, long offset, long count)
    {
        if (Finished)
        {
            HttpThrowHelper.StreamFinished();
        }
        if (_length is long declared && Written + count > declared)
        {
            HttpThrowHelper.StreamLengthExceeded(declared);
        }
        Written += count;
        return _connection.SendFileBodyAsync(this, file, offset, count);
    }

    /// <summary>Sends <paramref name="text"/> as UTF-8.</summary>
    public ValueTask WriteAsync(string text) => WriteAsync(Encoding.UTF8.GetBytes(text));

    /// <inheritdoc/>
    public override string ToString() => $"<ResponseBodyWriter written:{Written}{(Chunked ? " chunked" : "")}{(Finished ? " finished" : "")}>";
}
