using Aio.Http.Testing;

namespace Aio.Http.Tests.StaticFiles;

/// <summary>No way out of the root; dotfiles, directories, precompressed siblings.</summary>
public sealed class StaticPathTests : IDisposable
{
    private readonly StaticSite _site = new();

    public void Dispose() => _site.Dispose();

    private TestResponse Get(string target, StaticFileOptions? options = null, params (string, string)[] headers) =>
        TestLoop.Run(async () =>
        {
            await using var client = new TestClient(_site.App(options));
            return await client.SendAsync("GET", target, null, null, headers);
        });

    /// <summary>Raw request targets that try to leave the root (or reach what is hidden); each must be 404.</summary>
    public static TheoryData<string> Escapes() =>
    [
        "/static/../outside/secret.txt",
        "/static/sub/../../outside/secret.txt",
        "/static/%2e%2e/outside/secret.txt",
        "/static/%2E%2E/outside/secret.txt",
        "/static/.%2e/outside/secret.txt",
        "/static/..%2foutside%2fsecret.txt",
        "/static/..%2Foutside%2Fsecret.txt",
        "/static/%2e%2e%2foutside%2fsecret.txt",
        "/static/%252e%252e/outside/secret.txt",
        "/static/%252e%252e%252foutside%252fsecret.txt",
        "/static/..%5coutside%5csecret.txt",
        "/static/..%5Coutside%5Csecret.txt",
        "/static//etc/passwd",
        "/static/%2fetc%2fpasswd",
        "/static/%2Fetc/passwd",
        "/static/C:/Windows/win.ini",
        "/static/C:%5cWindows%5cwin.ini",
        "/static/c%3a/outside/secret.txt",
        "/static/hello.txt%00.png",
        "/static/hello.txt%00",
        "/static/link-out",
        "/static/link-out-relative",
        "/static/dir-out/secret.txt",
        "/static/.env",
        "/static/%2eenv",
        "/static/./hello.txt",
        "/static/%2e/hello.txt",
        "/static/sub",
        "/static/sub/",
        "/static/",
        "/static/nope.txt",
        "/static/hello.txt/",
    ];

    [Theory]
    [MemberData(nameof(Escapes))]
    public void Get_EscapingOrHiddenTarget_404(string target)
    {
        TestResponse r = Get(target);
        Assert.Equal(404, r.Status);
        Assert.DoesNotContain("SECRET", r.Text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/static/..\\outside\\secret.txt")]
    [InlineData("/static/sub\\..\\..\\outside\\secret.txt")]
    public void Get_RawBackslashes_404(string target)
    {
        Assert.Equal(404, Get(target).Status);
    }

    [Theory]
    [InlineData("/static/link-in", "Hello, static!")]
    [InlineData("/static/sub-link/index.html", "<p>index</p>")]
    [InlineData("/static/h%65llo.txt", "Hello, static!")]
    public void Get_LinksInsideTheRootAndEscapedLetters_Served(string target, string body)
    {
        TestResponse r = Get(target);
        Assert.Equal((200, body), (r.Status, r.Text));
    }

    [Fact]
    public void Get_HiddenFilesAllowed_Served()
    {
        Assert.Equal((200, "PASSWORD=x"), (Get("/static/.env", new StaticFileOptions { ServeHiddenFiles = true }) is var r ? (r.Status, r.Text) : default));
    }

    [Fact]
    public void Get_DirectoryWithIndexFile_RedirectsToSlashThenServesIndex()
    {
        var options = new StaticFileOptions { IndexFile = "index.html" };
        TestResponse redirect = Get("/static/sub?x=1", options);
        TestResponse index = Get("/static/sub/", options);
        TestResponse noIndex = Get("/static/list/", options);
        Assert.Equal((301, "/static/sub/?x=1"), (redirect.Status, redirect.Header("Location")));
        Assert.Equal((200, "<p>index</p>", "text/html; charset=utf-8"), (index.Status, index.Text, index.Header("Content-Type")));
        Assert.Equal(404, noIndex.Status);
    }

    [Fact]
    public void Get_DirectoryListing_EscapedNamesNoDotfilesParentLinkSizesAndTimes()
    {
        Directory.SetLastWriteTimeUtc(Path.Combine(_site.Root, "list", "dir"), StaticSite.Modified);
        TestResponse r = Get("/static/list/", new StaticFileOptions { DirectoryListing = true });
        Assert.Equal(200, r.Status);
        Assert.Equal("text/html; charset=utf-8", r.Header("Content-Type"));
        string[] rows = r.Text.Split('\n').Where(l => l.StartsWith("<tr>", StringComparison.Ordinal)).ToArray();
        Assert.Equal(
            [
                "<tr><th>Name</th><th>Size</th><th>Modified (UTC)</th></tr>",
                "<tr><td><a href=\"../\">../</a></td><td></td><td></td></tr>",
                "<tr><td><a href=\"dir/\">dir/</a></td><td>-</td><td>2024-05-06 07:08</td></tr>",
                "<tr><td><a href=\"%3Cb%3E%26%22x%22.txt\">&lt;b&gt;&amp;&quot;x&quot;.txt</a></td><td>1</td><td>2024-05-06 07:08</td></tr>",
            ],
            rows);
        Assert.Contains("<title>Index of /static/list/</title>", r.Text, StringComparison.Ordinal);
    }

    [Fact]
    public void Get_DirectoryListingOfTheRoot_DirectoriesFirstNoParentLinkNoLinkOutOfTheRoot()
    {
        // dir-out, link-out and link-out-relative lead out of the root and .env is hidden: none is listed. link-in and
        // sub-link stay inside: listed with their targets' kind and size.
        TestResponse r = Get("/static/", new StaticFileOptions { DirectoryListing = true });
        Assert.Equal(200, r.Status);
        List<string> names = [.. r.Text.Split('\n').Where(l => l.StartsWith("<tr><td>", StringComparison.Ordinal))
            .Select(l => l.Split("</td><td>")[0..2]).Select(c => c[0][(c[0].IndexOf('>', 8) + 1)..].Replace("</a>", "", StringComparison.Ordinal) + " " + c[1])];
        Assert.Equal(["list/ -", "sub/ -", "sub-link/ -", "app.js 24", "app.js.br 8", "app.js.gz 11", "data.bin 1000", "hello.txt 14", "link-in 14"], names);
    }

    [Fact]
    public void Get_DirectoryWithoutSlash_ListingOn_RedirectsToTheSlash()
    {
        TestResponse r = Get("/static/list?x=1", new StaticFileOptions { DirectoryListing = true });
        Assert.Equal((301, "/static/list/?x=1"), (r.Status, r.Header("Location")));
    }

    // ---- precompressed siblings

    private List<string> Encoded(string? acceptEncoding, params (string, string)[] more)
    {
        var headers = acceptEncoding is null ? more : [("Accept-Encoding", acceptEncoding), .. more];
        TestResponse r = Get("/static/app.js", null, headers);
        return [$"{r.Status}", r.Header("Content-Encoding") ?? "identity", r.Header("Content-Length") ?? "-", r.Header("Content-Type") ?? "-", r.Header("Vary") ?? "-", r.Text, r.Header("ETag") ?? "-"];
    }

    private static readonly string JsType = "text/javascript; charset=utf-8";

    [Fact]
    public void Precompressed_AcceptsBr_BrSiblingWithItsLength()
    {
        Assert.Equal(["200", "br", "8", JsType, "Accept-Encoding", "BR-BYTES", StaticSite.ETag(8, "br")], Encoded("gzip, deflate, br"));
    }

    [Fact]
    public void Precompressed_AcceptsGzipOnly_GzSibling()
    {
        Assert.Equal(["200", "gzip", "11", JsType, "Accept-Encoding", "GZIP-BYTES!", StaticSite.ETag(11, "gzip")], Encoded("gzip"));
    }

    [Fact]
    public void Precompressed_HigherQForGzip_GzSibling()
    {
        Assert.Equal("gzip", Encoded("br;q=0.5, gzip;q=0.8")[1]);
    }

    [Fact]
    public void Precompressed_QZero_Identity()
    {
        Assert.Equal(["200", "identity", "24", JsType, "Accept-Encoding", "console.log('identity');", StaticSite.ETag(24)], Encoded("br;q=0, gzip;q=0"));
    }

    [Fact]
    public void Precompressed_Star_Br()
    {
        Assert.Equal("br", Encoded("*")[1]);
    }

    [Fact]
    public void Precompressed_NoAcceptEncoding_IdentityWithVary()
    {
        Assert.Equal(["200", "identity", "24", JsType, "Accept-Encoding", "console.log('identity');", StaticSite.ETag(24)], Encoded(null));
    }

    [Fact]
    public void Precompressed_RangeRequest_IdentityBytes()
    {
        Assert.Equal(["206", "identity", "7", JsType, "Accept-Encoding", "console", StaticSite.ETag(24)], Encoded("br, gzip", ("Range", "bytes=0-6")));
    }

    [Fact]
    public void Precompressed_ConditionalOnTheBrTag_304()
    {
        TestResponse r = Get("/static/app.js", null, ("Accept-Encoding", "br"), ("If-None-Match", StaticSite.ETag(8, "br")));
        Assert.Equal((304, "Accept-Encoding"), (r.Status, r.Header("Vary")));
    }

    [Fact]
    public void Precompressed_Off_IdentityNoVary()
    {
        TestResponse r = Get("/static/app.js", new StaticFileOptions { Precompressed = false }, ("Accept-Encoding", "br"));
        Assert.Equal((200, null, null), (r.Status, r.Header("Content-Encoding"), r.Header("Vary")));
    }

    [Fact]
    public void Static_MissingDirectory_ThrowsDirectoryNotFound()
    {
        var app = new Application();
        var e = Assert.Throws<DirectoryNotFoundException>(() => app.Router.Static("/s", Path.Combine(_site.Base, "nope")));
        Assert.Contains("does not exist", e.Message, StringComparison.Ordinal);
    }
}
