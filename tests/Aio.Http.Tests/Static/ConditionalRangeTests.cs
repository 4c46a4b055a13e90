using Aio.Http.Testing;

namespace Aio.Http.Tests.StaticFiles;

/// <summary>Validators, conditional requests (RFC 9110 §13) and ranges (§14) of static files, one rule per test.</summary>
public sealed class ConditionalRangeTests : IDisposable
{
    private readonly StaticSite _site = new();

    public void Dispose() => _site.Dispose();

    private TestResponse Get(string target, params (string, string)[] headers) => Send("GET", target, null, headers);

    private TestResponse Send(string method, string target, StaticFileOptions? options, params (string, string)[] headers) =>
        TestLoop.Run(async () =>
        {
            await using var client = new TestClient(_site.App(options));
            return await client.SendAsync(method, target, null, null, headers);
        });

    private static readonly string DataTag = StaticSite.ETag(1000);

    private static List<string> Fields(TestResponse r, params string[] names) =>
        names.Select(n => $"{n}: {r.Header(n) ?? "-"}").ToList();

    [Fact]
    public void Get_File_200WithTypeLengthValidatorsAndNosniff()
    {
        TestResponse r = Get("/static/hello.txt");
        Assert.Equal(200, r.Status);
        Assert.Equal("Hello, static!", r.Text);
        Assert.Equal(
            ["Content-Type: text/plain; charset=utf-8", "Content-Length: 14", $"ETag: {StaticSite.ETag(14)}", $"Last-Modified: {StaticSite.LastModified}",
             "Accept-Ranges: bytes", "X-Content-Type-Options: nosniff", "Cache-Control: -", "Content-Encoding: -"],
            Fields(r, "Content-Type", "Content-Length", "ETag", "Last-Modified", "Accept-Ranges", "X-Content-Type-Options", "Cache-Control", "Content-Encoding"));
    }

    [Theory]
    [InlineData("data.bin", "application/octet-stream")]
    [InlineData("app.js", "text/javascript; charset=utf-8")]
    [InlineData("sub/index.html", "text/html; charset=utf-8")]
    public void Get_ContentTypeFromExtension(string file, string type) =>
        Assert.Equal(type, Get("/static/" + file).Header("Content-Type"));

    [Fact]
    public void Get_CacheControlOption_OnEveryAnswer()
    {
        var options = new StaticFileOptions { CacheControl = "public, max-age=60" };
        Assert.Equal("public, max-age=60", Send("GET", "/static/hello.txt", options).Header("Cache-Control"));
        TestResponse notModified = Send("GET", "/static/hello.txt", options, ("If-None-Match", StaticSite.ETag(14)));
        Assert.Equal((304, "public, max-age=60"), (notModified.Status, notModified.Header("Cache-Control")));
    }

    [Fact]
    public void Head_SameFieldsAsGetAndNoBody()
    {
        TestResponse get = Get("/static/data.bin");
        TestResponse head = Send("HEAD", "/static/data.bin", null);
        Assert.Equal(200, head.Status);
        Assert.Empty(head.Body);
        string[] names = ["Content-Type", "Content-Length", "ETag", "Last-Modified", "Accept-Ranges"];
        Assert.Equal(Fields(get, names), Fields(head, names));
    }

    [Fact]
    public void Post_405WithAllowGetHead()
    {
        TestResponse r = Send("POST", "/static/hello.txt", null);
        Assert.Equal((405, "GET, HEAD"), (r.Status, r.Header("Allow")));
    }

    // ---- If-None-Match (§13.1.2): weak comparison; GET/HEAD get 304

    [Fact]
    public void IfNoneMatch_SameTag_304WithETagAndNoBody()
    {
        TestResponse r = Get("/static/data.bin", ("If-None-Match", DataTag));
        Assert.Equal((304, DataTag, 0, null), (r.Status, r.Header("ETag"), r.Body.Length, r.Header("Content-Length")));
    }

    [Fact]
    public void IfNoneMatch_WeakFormOfTheTag_304()
    {
        Assert.Equal(304, Get("/static/data.bin", ("If-None-Match", "W/" + DataTag)).Status);
    }

    [Fact]
    public void IfNoneMatch_TagInAList_304()
    {
        Assert.Equal(304, Get("/static/data.bin", ("If-None-Match", $"\"a,b\", {DataTag}")).Status);
    }

    [Fact]
    public void IfNoneMatch_Star_304()
    {
        Assert.Equal(304, Get("/static/data.bin", ("If-None-Match", "*")).Status);
    }

    [Fact]
    public void IfNoneMatch_OtherTag_200()
    {
        Assert.Equal(200, Get("/static/data.bin", ("If-None-Match", "\"other\"")).Status);
    }

    [Fact]
    public void IfNoneMatch_Present_IfModifiedSinceIgnored()
    {
        // §13.2.2 step 4 evaluates If-Modified-Since only when If-None-Match is absent.
        Assert.Equal(200, Get("/static/data.bin", ("If-None-Match", "\"other\""), ("If-Modified-Since", "Sun, 06 Nov 2044 08:49:37 GMT")).Status);
    }

    // ---- If-Modified-Since (§13.1.3)

    [Fact]
    public void IfModifiedSince_AtLastModified_304()
    {
        Assert.Equal(304, Get("/static/data.bin", ("If-Modified-Since", StaticSite.LastModified)).Status);
    }

    [Fact]
    public void IfModifiedSince_Earlier_200()
    {
        Assert.Equal(200, Get("/static/data.bin", ("If-Modified-Since", "Mon, 06 May 2024 07:08:08 GMT")).Status);
    }

    [Theory]
    [InlineData("Monday, 06-May-24 07:08:09 GMT")]     // obsolete RFC 850 form
    [InlineData("Mon May  6 07:08:09 2024")]           // obsolete asctime form
    public void IfModifiedSince_ObsoleteDateForms_Understood304(string date)
    {
        Assert.Equal(304, Get("/static/data.bin", ("If-Modified-Since", date)).Status);
    }

    [Fact]
    public void IfModifiedSince_NotADate_Ignored200()
    {
        Assert.Equal(200, Get("/static/data.bin", ("If-Modified-Since", "yesterday")).Status);
    }

    // ---- If-Match (§13.1.1): strong comparison; 412

    [Fact]
    public void IfMatch_OtherTag_412()
    {
        Assert.Equal(412, Get("/static/data.bin", ("If-Match", "\"other\"")).Status);
    }

    [Fact]
    public void IfMatch_WeakFormOfTheTag_412StrongComparison()
    {
        Assert.Equal(412, Get("/static/data.bin", ("If-Match", "W/" + DataTag)).Status);
    }

    [Fact]
    public void IfMatch_SameTag_200()
    {
        Assert.Equal(200, Get("/static/data.bin", ("If-Match", DataTag)).Status);
    }

    [Fact]
    public void IfMatch_Star_200()
    {
        Assert.Equal(200, Get("/static/data.bin", ("If-Match", "*")).Status);
    }

    [Fact]
    public void IfMatch_Fails_412EvenIfIfNoneMatchWouldGive304()
    {
        Assert.Equal(412, Get("/static/data.bin", ("If-Match", "\"other\""), ("If-None-Match", DataTag)).Status);
    }

    // ---- If-Unmodified-Since (§13.1.4)

    [Fact]
    public void IfUnmodifiedSince_Earlier_412()
    {
        Assert.Equal(412, Get("/static/data.bin", ("If-Unmodified-Since", "Mon, 06 May 2024 07:08:08 GMT")).Status);
    }

    [Fact]
    public void IfUnmodifiedSince_AtLastModified_200()
    {
        Assert.Equal(200, Get("/static/data.bin", ("If-Unmodified-Since", StaticSite.LastModified)).Status);
    }

    [Fact]
    public void IfUnmodifiedSince_IgnoredWhenIfMatchPresent()
    {
        Assert.Equal(200, Get("/static/data.bin", ("If-Match", DataTag), ("If-Unmodified-Since", "Mon, 01 Jan 2001 00:00:00 GMT")).Status);
    }

    // ---- Range (§14.1.2, §14.2, §15.3.7, §15.5.17)

    private void AssertPartial(TestResponse r, int first, int last)
    {
        Assert.Equal((206, $"bytes {first}-{last}/1000", (last - first + 1).ToString(System.Globalization.CultureInfo.InvariantCulture)),
            (r.Status, r.Header("Content-Range"), r.Header("Content-Length")));
        Assert.Equal(_site.Data[first..(last + 1)], r.Body);
    }

    [Fact]
    public void Range_OneRange_206WithContentRange() => AssertPartial(Get("/static/data.bin", ("Range", "bytes=10-19")), 10, 19);

    [Fact]
    public void Range_OpenEnded_ToTheEnd() => AssertPartial(Get("/static/data.bin", ("Range", "bytes=990-")), 990, 999);

    [Fact]
    public void Range_Suffix_LastBytes() => AssertPartial(Get("/static/data.bin", ("Range", "bytes=-5")), 995, 999);

    [Fact]
    public void Range_SuffixLongerThanFile_WholeFileAs206() => AssertPartial(Get("/static/data.bin", ("Range", "bytes=-5000")), 0, 999);

    [Fact]
    public void Range_LastPastTheEnd_Clamped() => AssertPartial(Get("/static/data.bin", ("Range", "bytes=995-2000")), 995, 999);

    [Fact]
    public void Range_FirstAtOrPastTheEnd_416WithContentRangeStarLength()
    {
        TestResponse r = Get("/static/data.bin", ("Range", "bytes=1000-"));
        Assert.Equal((416, "bytes */1000"), (r.Status, r.Header("Content-Range")));
    }

    [Fact]
    public void Range_SuffixOfZero_416()
    {
        Assert.Equal(416, Get("/static/data.bin", ("Range", "bytes=-0")).Status);
    }

    [Fact]
    public void Range_SeveralRanges_IgnoredWhole200()
    {
        TestResponse r = Get("/static/data.bin", ("Range", "bytes=0-1, 5-6"));
        Assert.Equal((200, 1000, null), (r.Status, r.Body.Length, r.Header("Content-Range")));
    }

    [Theory]
    [InlineData("bytes=5-1")]
    [InlineData("bytes=abc")]
    [InlineData("items=0-1")]
    [InlineData("bytes=")]
    public void Range_Invalid_Ignored200(string range)
    {
        Assert.Equal(200, Get("/static/data.bin", ("Range", range)).Status);
    }

    [Fact]
    public void Range_OnHead_Ignored200()
    {
        TestResponse r = Send("HEAD", "/static/data.bin", null, ("Range", "bytes=0-9"));
        Assert.Equal((200, "1000"), (r.Status, r.Header("Content-Length")));
    }

    [Fact]
    public void Range_WithMatchingIfNoneMatch_304First()
    {
        Assert.Equal(304, Get("/static/data.bin", ("Range", "bytes=0-9"), ("If-None-Match", DataTag)).Status);
    }

    [Fact]
    public void IfRange_CurrentTag_206() => AssertPartial(Get("/static/data.bin", ("Range", "bytes=0-9"), ("If-Range", DataTag)), 0, 9);

    [Fact]
    public void IfRange_StaleTag_WholeFile200()
    {
        Assert.Equal(200, Get("/static/data.bin", ("Range", "bytes=0-9"), ("If-Range", "\"stale\"")).Status);
    }

    [Fact]
    public void IfRange_WeakTag_WholeFile200()
    {
        Assert.Equal(200, Get("/static/data.bin", ("Range", "bytes=0-9"), ("If-Range", "W/" + DataTag)).Status);
    }

    [Fact]
    public void IfRange_LastModifiedDate_206() => AssertPartial(Get("/static/data.bin", ("Range", "bytes=0-9"), ("If-Range", StaticSite.LastModified)), 0, 9);

    [Fact]
    public void IfRange_OtherDate_WholeFile200()
    {
        Assert.Equal(200, Get("/static/data.bin", ("Range", "bytes=0-9"), ("If-Range", "Mon, 06 May 2024 07:08:10 GMT")).Status);
    }

    // ---- Response.File: the same engine for a handler's single file

    [Fact]
    public void ResponseFile_ConditionalAndRangeLikeStatic()
    {
        var results = TestLoop.Run(async () =>
        {
            var app = new Application();
            string path = Path.Combine(_site.Root, "data.bin");
            app.Router.Get("/download", _ => Response.File(path, cacheControl: "no-cache"));
            app.Router.Get("/missing", _ => Response.File(Path.Combine(_site.Root, "nope.bin")));
            await using var client = new TestClient(app);
            var list = new List<string>();
            TestResponse full = await client.GetAsync("/download");
            list.Add($"{full.Status} {full.Body.Length} {full.Header("Content-Type")} {full.Header("ETag")} {full.Header("Cache-Control")}");
            TestResponse cached = await client.GetAsync("/download", ("If-None-Match", DataTag));
            list.Add($"{cached.Status} {cached.Header("Cache-Control")}");
            TestResponse part = await client.GetAsync("/download", ("Range", "bytes=1-2"));
            list.Add($"{part.Status} {part.Header("Content-Range")} {part.Body[0]},{part.Body[1]}");
            list.Add($"{(await client.GetAsync("/missing")).Status}");
            return list;
        });
        Assert.Equal([$"200 1000 application/octet-stream {DataTag} no-cache", "304 no-cache", "206 bytes 1-2/1000 1,2", "404"], results);
    }
}
