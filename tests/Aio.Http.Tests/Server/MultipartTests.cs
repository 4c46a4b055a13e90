using static Aio.Http.Tests.Server.Harness;

namespace Aio.Http.Tests.Server;

/// <summary>multipart/form-data through FormAsync (ASP.NET Core's MultipartReader over the request body).</summary>
public class MultipartTests
{
    private static Application FormApp() => EchoApp(app => app.Router.Post("/form", async req =>
    {
        MultiDict fields = await req.FormAsync();
        string files = string.Join(",", req.Files.Select(f => $"{f.Name}:{f.FileName}:{f.ContentType}:{System.Text.Encoding.UTF8.GetString(f.Content)}"));
        return Response.Text($"{string.Join(",", fields.Select(kv => kv.Key + "=" + kv.Value))}|{files}");
    }));

    private const string Body =
        "--XyZ\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nhello world\r\n" +
        "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\nContent-Type: text/plain\r\n\r\nline1\r\nline2\r\n" +
        "--XyZ\r\nContent-Disposition: form-data; name=\"n\"\r\n\r\n42\r\n--XyZ--\r\n";

    [Fact]
    public void FormAsync_Multipart_FieldsAndFiles_WhateverTheSplit()
    {
        string request = $"POST /form HTTP/1.1\r\nHost: a\r\nContent-Type: multipart/form-data; boundary=\"XyZ\"\r\nContent-Length: {Body.Length}\r\n\r\n{Body}";
        string answer = ExchangeAllSplits(FormApp, request, randomSplits: 10);
        Assert.EndsWith("\r\n\r\ntitle=hello world,n=42|file:a.txt:text/plain:line1\r\nline2", answer, StringComparison.Ordinal);
    }

    [Fact]
    public void FormAsync_MultipartChunked_Works()
    {
        string chunked = $"{Body.Length:X}\r\n{Body}\r\n0\r\n\r\n";
        string answer = ExchangeAllSplits(FormApp, $"POST /form HTTP/1.1\r\nHost: a\r\nContent-Type: multipart/form-data; boundary=XyZ\r\nTransfer-Encoding: chunked\r\n\r\n{chunked}", randomSplits: 5);
        Assert.Contains("title=hello world,n=42|file:a.txt", answer, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("multipart/form-data", "--XyZ--\r\n")]
    [InlineData("multipart/form-data; boundary=XyZ", "--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nunterminated")]
    [InlineData("multipart/form-data; boundary=XyZ", "--XyZ\r\nContent-Type: text/plain\r\n\r\nno disposition\r\n--XyZ--\r\n")]
    public void FormAsync_MalformedMultipart_400(string contentType, string body)
    {
        string answer = ExchangeAllSplits(FormApp, $"POST /form HTTP/1.1\r\nHost: a\r\nContent-Type: {contentType}\r\nContent-Length: {body.Length}\r\n\r\n{body}", randomSplits: 3);
        Assert.Equal([400], Statuses(answer));
    }
}

/// <summary>A multipart body that arrives slowly (the multipart reader must not resume off the loop).</summary>
public class MultipartSlowBodyTests
{
    [Fact]
    public void FormAsync_MultipartArrivingInPieces_ParsedOnTheLoop()
    {
        const string body = "--B\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--B--\r\n";
        string answer = TestLoop.Run(async () =>
        {
            var app = new Application();
            app.Router.Post("/form", async req => Response.Text((await req.FormAsync())["a"] ?? "none"));
            await using var client = new TestClient(app);
            TestConnection c = client.Connect();
            c.Send($"POST /form HTTP/1.1\r\nHost: a\r\nContent-Type: multipart/form-data; boundary=B\r\nContent-Length: {body.Length}\r\n\r\n");
            foreach (char ch in body)
            {
                await Sleep(0.01);
                c.Send(ch.ToString());
            }
            return (await c.ReadResponseAsync()).Text;
        });
        Assert.Equal("1", answer);
    }
}
