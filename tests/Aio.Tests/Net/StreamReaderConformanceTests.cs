using System.Text;

namespace Aio.Tests.Net;

/// <summary>Ports of CPython's test_streams behaviour for StreamReader, fed directly (no socket).</summary>
public class StreamReaderConformanceTests
{
    private static void Run(Func<Task> body) => TestLoop.Run(body, hangDetection: false);

    private static byte[] B(string s) => Encoding.ASCII.GetBytes(s);

    private static string S(byte[] b) => Encoding.ASCII.GetString(b);

    [Fact]
    public void Constructor_LimitNotPositive_Throws() => Run(() =>
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new AioStreamReader(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new AioStreamReader(-1));
        return Task.CompletedTask;
    });

    [Fact]
    public void Read_Zero_ReturnsEmptyAndLeavesBuffer() => Run(async () =>
    {
        var r = new AioStreamReader();
        r.FeedData(B("data"));
        Assert.Empty(await r.ReadAsync(0));
        Assert.Equal(4, r.BufferedCount);
    });

    [Fact]
    public void Read_N_ReturnsWhatIsThereAsSoonAsAnything() => Run(async () =>
    {
        var r = new AioStreamReader();
        AioTask<byte[]> read = Asyncio.CreateTask(() => r.ReadAsync(30));
        await Asyncio.Sleep(0);
        r.FeedData(B("line1"));
        Assert.Equal("line1", S(await read));
        r.FeedData(B("line2line3"));
        Assert.Equal("line2", S(await r.ReadAsync(5)));
        Assert.Equal("line3", S(await r.ReadAsync(30)));
    });

    [Fact]
    public void Read_All_ReadsUntilEof() => Run(async () =>
    {
        var r = new AioStreamReader(limit: 3);
        AioTask<byte[]> read = Asyncio.CreateTask(() => r.ReadAsync());
        r.FeedData(B("chunk1\n"));
        r.FeedData(B("chunk2"));
        await Asyncio.Sleep(0);
        r.FeedEof();
        Assert.Equal("chunk1\nchunk2", S(await read));
        Assert.True(r.AtEof);
        Assert.Empty(await r.ReadAsync());
        Assert.Empty(await r.ReadAsync(10));
    });

    [Fact]
    public void Read_PendingThenException_Throws() => Run(async () =>
    {
        var r = new AioStreamReader();
        AioTask<byte[]> read = Asyncio.CreateTask(() => r.ReadAsync(2));
        await Asyncio.Sleep(0);
        r.SetException(new InvalidDataException("bad"));
        await Assert.ThrowsAsync<InvalidDataException>(async () => await read);
        await Assert.ThrowsAsync<InvalidDataException>(() => r.ReadAsync(2));
        Assert.IsType<InvalidDataException>(r.Exception());
    });

    [Fact]
    public void Read_SecondConcurrentReader_Throws() => Run(async () =>
    {
        var r = new AioStreamReader();
        AioTask<byte[]> first = Asyncio.CreateTask(() => r.ReadAsync(2));
        await Asyncio.Sleep(0);
        await Assert.ThrowsAsync<InvalidOperationException>(() => r.ReadAsync(2));
        r.FeedEof();
        Assert.Empty(await first);
    });

    [Fact]
    public void Read_CancelledWhileWaiting_ThenSetException_DoesNotError() => Run(async () =>
    {
        var r = new AioStreamReader();
        AioTask<byte[]> read = Asyncio.CreateTask(() => r.ReadAsync(2));
        await Asyncio.Sleep(0);
        read.Cancel();
        await Assert.ThrowsAsync<CancelledError>(async () => await read);
        r.SetException(new IOException("late"));
        await Assert.ThrowsAsync<IOException>(() => r.ReadAsync(2));
    });

    [Fact]
    public void ReadLine_ReturnsLinesIncludingNewline_AndPartialAtEof() => Run(async () =>
    {
        var r = new AioStreamReader();
        r.FeedData(B("line1\nline2\nlast"));
        r.FeedEof();
        Assert.Equal("line1\n", S(await r.ReadLineAsync()));
        Assert.Equal("line2\n", S(await r.ReadLineAsync()));
        Assert.Equal("last", S(await r.ReadLineAsync()));
        Assert.Empty(await r.ReadLineAsync());
    });

    [Fact]
    public void ReadLine_OverLimit_ThrowsAndConsumesUpToSeparator() => Run(async () =>
    {
        var r = new AioStreamReader(limit: 7);
        r.FeedData(B("1234567890\n"));
        r.FeedData(B("chunk3\n"));
        await Assert.ThrowsAsync<LimitOverrunError>(() => r.ReadLineAsync());
        // asyncio: the offending line is consumed (up to and including its separator).
        Assert.Equal("chunk3\n", S(await r.ReadLineAsync()));
    });

    [Fact]
    public void ReadLine_OverLimitWithoutSeparator_ThrowsAndClearsBuffer() => Run(async () =>
    {
        var r = new AioStreamReader(limit: 7);
        r.FeedData(B("12345678901234"));
        await Assert.ThrowsAsync<LimitOverrunError>(() => r.ReadLineAsync());
        Assert.Equal(0, r.BufferedCount);
    });

    [Fact]
    public void ReadUntil_ReturnsDataIncludingSeparator() => Run(async () =>
    {
        var r = new AioStreamReader();
        r.FeedData(B("line1AAAline2AA"));
        Assert.Equal("line1AAA", S(await r.ReadUntilAsync(B("AAA"))));
        r.FeedData(B("A"));
        Assert.Equal("line2AAA", S(await r.ReadUntilAsync(B("AAA"))));
    });

    [Fact]
    public void ReadUntil_EmptySeparator_Throws() => Run(async () =>
    {
        var r = new AioStreamReader();
        await Assert.ThrowsAsync<ArgumentException>(() => r.ReadUntilAsync(ReadOnlyMemory<byte>.Empty));
    });

    [Fact]
    public void ReadUntil_OverLimit_ThrowsAndLeavesBufferIntact() => Run(async () =>
    {
        var r = new AioStreamReader(limit: 3);
        r.FeedData(B("some data"));
        LimitOverrunError e = await Assert.ThrowsAsync<LimitOverrunError>(() => r.ReadUntilAsync(B("AAA")));
        Assert.Equal("Separator is not found, and chunk exceed the limit", e.Message);
        Assert.Equal(9, r.BufferedCount);

        var r2 = new AioStreamReader(limit: 3);
        r2.FeedData(B("some dataAAA"));
        LimitOverrunError e2 = await Assert.ThrowsAsync<LimitOverrunError>(() => r2.ReadUntilAsync(B("AAA")));
        Assert.Equal("Separator is found, but chunk is longer than limit", e2.Message);
        Assert.Equal(9, e2.Consumed);
        Assert.Equal("some dataAAA", S(r2.Buffered.ToArray()));
    });

    [Fact]
    public void ReadUntil_EofFirst_IncompleteReadErrorWithWholeBuffer() => Run(async () =>
    {
        var r = new AioStreamReader();
        r.FeedData(B("some dataAA"));
        r.FeedEof();
        IncompleteReadError e = await Assert.ThrowsAsync<IncompleteReadError>(() => r.ReadUntilAsync(B("AAA")));
        Assert.Equal("some dataAA", S(e.Partial));
        Assert.Null(e.Expected);
        Assert.Equal(0, r.BufferedCount);
    });

    [Fact]
    public void ReadUntil_SeveralSeparators_EarliestEndWins() => Run(async () =>
    {
        var r = new AioStreamReader();
        r.FeedData(B("aaa\r\nbbb\n"));
        Assert.Equal("aaa\r\n", S(await r.ReadUntilAsync(B("\r\n"), B("\n"))));
        Assert.Equal("bbb\n", S(await r.ReadUntilAsync(B("\r\n"), B("\n"))));
    });

    [Fact]
    public void ReadExactly_WaitsForAllBytes() => Run(async () =>
    {
        var r = new AioStreamReader();
        AioTask<byte[]> read = Asyncio.CreateTask(() => r.ReadExactlyAsync(10));
        await Asyncio.Sleep(0);
        r.FeedData(B("12345"));
        await Asyncio.Sleep(0);
        Assert.False(read.Done);
        r.FeedData(B("6789012"));
        Assert.Equal("1234567890", S(await read));
        Assert.Equal("12", S(await r.ReadAsync(5)));
    });

    [Fact]
    public void ReadExactly_AtEof_IncompleteReadErrorWithPartial() => Run(async () =>
    {
        var r = new AioStreamReader();
        r.FeedData(B("123456789012345678"));
        r.FeedEof();
        IncompleteReadError e = await Assert.ThrowsAsync<IncompleteReadError>(() => r.ReadExactlyAsync(36));
        Assert.Equal("123456789012345678", S(e.Partial));
        Assert.Equal(36, e.Expected);
        Assert.Equal("18 bytes read on a total of 36 expected bytes", e.Message);
        Assert.Equal(0, r.BufferedCount);
    });

    [Fact]
    public void ReadExactly_ZeroAndNegative() => Run(async () =>
    {
        var r = new AioStreamReader();
        Assert.Empty(await r.ReadExactlyAsync(0));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => r.ReadExactlyAsync(-1));
    });

    [Fact]
    public void ReadExactly_NotBoundByLimit() => Run(async () =>
    {
        var r = new AioStreamReader(limit: 4);
        r.FeedData(B("0123456789"));
        Assert.Equal("0123456789", S(await r.ReadExactlyAsync(10)));
    });

    [Fact]
    public void AsyncEnumeration_YieldsLines() => Run(async () =>
    {
        var r = new AioStreamReader();
        r.FeedData(B("a\nb\nc"));
        r.FeedEof();
        var lines = new List<string>();
        await foreach (byte[] line in r)
        {
            lines.Add(S(line));
        }
        Assert.Equal(["a\n", "b\n", "c"], lines);
    });

    [Fact]
    public void ToString_DescribesState() => Run(() =>
    {
        var r = new AioStreamReader(limit: 10);
        Assert.Equal("<AioStreamReader limit=10>", r.ToString());
        r.FeedData(B("abc"));
        r.FeedEof();
        Assert.Equal("<AioStreamReader 3 bytes eof limit=10>", r.ToString());
        return Task.CompletedTask;
    });
}
