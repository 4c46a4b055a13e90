namespace Aio.Http.Internal;

/// <summary>The request body as a read-only <see cref="Stream"/> (for readers such as the multipart reader).</summary>
internal sealed class RequestBodyStream : Stream
{
    private readonly Request _request;

    public RequestBodyStream(Request request) => _request = request;

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => _request.ReadAsync(buffer);

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        _request.ReadAsync(buffer.AsMemory(offset, count)).AsTask();

    public override int Read(byte[] buffer, int offset, int count) =>
        throw new NotSupportedException("The request body is read asynchronously on the loop; use ReadAsync.");

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
