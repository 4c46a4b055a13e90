using System.Net;
using static Aio.Http.Tests.Client.RawHttpServer;

namespace Aio.Http.Tests.Client;

public sealed class StreamingTests
{
    private const long Size = 100L * 1024 * 1024;
    private const long Bound = 40L * 1024 * 1024;           // far below the 100 MB that buffering would take

    [Fact]
    public void Download_100MB_StreamsWithBoundedMemory() => HttpTestLoop.Run(async () =>
    {
        byte[] block = new byte[64 * 1024];
        await using RawHttpServer server = await StartAsync(async (r, w) =>
        {
            WriteHead(w, 200, $"Content-Length: {Size}");
            for (long sent = 0; sent < Size; sent += block.Length)
            {
                w.Write(block);
                await w.DrainAsync();
            }
        });
        await using var session = new ClientSession(new() { Timeout = ClientTimeout.None });
        long baseline = GC.GetTotalMemory(forceFullCollection: true), peak = 0, received = 0;
        await using ClientResponse response = await session.GetAsync(server.Url("/big"));
        await foreach (ReadOnlyMemory<byte> chunk in response.ReadChunksAsync())
        {
            received += chunk.Length;
            peak = Math.Max(peak, GC.GetTotalMemory(false) - baseline);
        }
        Assert.Equal((Size, Size, true), (received, response.BytesRead, response.IsReleased));
        Assert.True(peak < Bound, $"the heap grew by {peak / 1024 / 1024} MB while streaming 100 MB");
    }, foreignWaitThreshold: 5);

    [Fact]
    public void Upload_100MB_StreamsWithBoundedMemory() => HttpTestLoop.Run(async () =>
    {
        long baseline = GC.GetTotalMemory(forceFullCollection: true), peak = 0, received = 0;
        await using RawHttpServer server = await StartAsync(async (r, w) =>
        {
            byte[] buffer;
            while ((buffer = await r.BodyReader!.ReadAsync(64 * 1024)).Length > 0 && received < Size)
            {
                received += buffer.Length;
                peak = Math.Max(peak, GC.GetTotalMemory(false) - baseline);
                if (received == Size)
                {
                    break;
                }
            }
            await RespondAsync(w, 200, $"got {received}");
        });
        await using var session = new ClientSession(new() { Timeout = ClientTimeout.None });
        var content = new StreamContent(new PatternStream(Size), 64 * 1024);
        content.Headers.ContentLength = Size;
        await using ClientResponse response = await session.PutAsync(server.Url("/upload"), content);
        Assert.Equal($"got {Size}", await response.TextAsync());
        Assert.True(peak < Bound, $"the heap grew by {peak / 1024 / 1024} MB while streaming 100 MB");
    }, foreignWaitThreshold: 5);

    [Fact]
    public void CopyToAsync_Body_CopiesAll() => HttpTestLoop.Run(async () =>
    {
        await using RawHttpServer server = await StartAsync((r, w) => RespondAsync(w, 200, new string('x', 200_000)));
        await using var session = new ClientSession(new() { Timeout = ClientTimeout.None });
        await using ClientResponse response = await session.GetAsync(server.Url("/"));
        var sink = new MemoryStream();
        await response.CopyToAsync(sink);
        Assert.Equal(200_000, sink.Length);
    });

    [Fact]
    public void ServerClosesMidBody_ThrowsAClearError() => HttpTestLoop.Run(async () =>
    {
        await using RawHttpServer server = await StartAsync(async (r, w) =>
        {
            WriteHead(w, 200, "Content-Length: 1000");
            w.Write(new byte[10]);
            await w.DrainAsync();
            w.Close();
        });
        await using var session = new ClientSession(new() { Timeout = ClientTimeout.None });
        await using ClientResponse response = await session.GetAsync(server.Url("/cut"));
        HttpRequestException e = await Assert.ThrowsAsync<HttpRequestException>(() => response.TextAsync());
        Assert.Equal(HttpRequestError.ResponseEnded, e.HttpRequestError);
        Assert.StartsWith($"The server closed the connection in the middle of the response body of GET {server.Url("/cut")} (status 200) after 10 bytes of the 1000 announced: the body is incomplete.",
            e.Message, StringComparison.Ordinal);
        Assert.Equal((0, 0, true), (session.ActiveRequests, session.OpenConnections, response.IsReleased));
    });

    [Fact]
    public void ServerClosesBeforeHeaders_ThrowsAClearError() => HttpTestLoop.Run(async () =>
    {
        await using RawHttpServer server = await StartAsync((r, w) =>
        {
            w.Close();
            return Task.CompletedTask;
        });
        await using var session = new ClientSession(new() { Timeout = ClientTimeout.None });
        HttpRequestException e = await Assert.ThrowsAsync<HttpRequestException>(() => session.GetAsync(server.Url("/gone")));
        Assert.StartsWith($"GET {server.Url("/gone")} failed before a response arrived:", e.Message, StringComparison.Ordinal);
        Assert.Equal(0, session.ActiveRequests);
    });

    [Fact]
    public void ConnectionRefused_ThrowsAClearError() => HttpTestLoop.Run(async () =>
    {
        int port;
        await using (RawHttpServer closed = await StartAsync((r, w) => Task.CompletedTask))
        {
            port = closed.Port;
        }
        await using var session = new ClientSession(new() { Timeout = ClientTimeout.None });
        HttpRequestException e = await Assert.ThrowsAsync<HttpRequestException>(() => session.GetAsync($"http://127.0.0.1:{port}/"));
        Assert.Equal(HttpRequestError.ConnectionError, e.HttpRequestError);
        Assert.StartsWith($"GET http://127.0.0.1:{port}/ failed before a response arrived:", e.Message, StringComparison.Ordinal);
    });

    /// <summary>A read-only stream of <c>length</c> generated bytes: no memory behind it.</summary>
    internal sealed class PatternStream(long length) : Stream
    {
        private long _position;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => length;
        public override long Position { get => _position; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            int n = (int)Math.Min(buffer.Length, length - _position);
            buffer[..n].Fill((byte)'a');
            _position += n;
            return n;
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
