using System.Net;
using System.Text;
using static Aio.Http.Tests.Client.RawHttpServer;

namespace Aio.Http.Tests.Client;

public sealed class RedirectTests
{
    private static readonly ClientSessionOptions NoTimeouts = new() { Timeout = ClientTimeout.None };

    /// <summary>A server that redirects /from/{status} to /to and echoes the method, body and credentials there.</summary>
    private static Task<RawHttpServer> RedirectingServer(string? location = null) => StartAsync(async (r, w) =>
    {
        if (r.Target.StartsWith("/from/", StringComparison.Ordinal))
        {
            await RespondAsync(w, int.Parse(r.Target[6..], System.Globalization.CultureInfo.InvariantCulture), "moved", $"Location: {location ?? "/to"}");
            return;
        }
        await RespondAsync(w, 200, $"{r.Method} body={Encoding.UTF8.GetString(r.Body)} auth={r.Header("authorization")} cookie={r.Header("cookie")}");
    });

    [Theory]
    [InlineData("POST", 301, "GET body= auth=secret cookie=")]
    [InlineData("POST", 302, "GET body= auth=secret cookie=")]
    [InlineData("POST", 303, "GET body= auth=secret cookie=")]
    [InlineData("POST", 307, "POST body=data auth=secret cookie=")]
    [InlineData("POST", 308, "POST body=data auth=secret cookie=")]
    [InlineData("PUT", 301, "PUT body=data auth=secret cookie=")]
    [InlineData("PUT", 303, "GET body= auth=secret cookie=")]
    [InlineData("DELETE", 302, "DELETE body=data auth=secret cookie=")]
    public void Redirect_MethodRules_FollowRfc9110(string method, int status, string expected) => HttpTestLoop.Run(async () =>
    {
        await using RawHttpServer server = await RedirectingServer();
        await using var session = new ClientSession(NoTimeouts);
        await using ClientResponse response = await session.RequestAsync(new HttpMethod(method), server.Url($"/from/{status}"),
            new() { Content = new StringContent("data"), Headers = [new("Authorization", "secret")] });
        Assert.Equal(expected, await response.TextAsync());
        Assert.Equal((server.Url("/to"), status), (response.Url.ToString(), response.History.Single().Status));
        Assert.Equal(0, session.ActiveRequests);
    });

    [Fact]
    public void Redirect_HeadOn303_StaysHead() => HttpTestLoop.Run(async () =>
    {
        await using RawHttpServer server = await RedirectingServer();
        await using var session = new ClientSession(NoTimeouts);
        await using ClientResponse response = await session.HeadAsync(server.Url("/from/303"));
        Assert.Equal(["HEAD", "HEAD"], server.Requests.Select(r => r.Method));
    });

    [Fact]
    public void Redirect_CrossOrigin_DropsAuthorizationAndCookieHeaders() => HttpTestLoop.Run(async () =>
    {
        await using RawHttpServer target = await RedirectingServer();
        await using RawHttpServer server = await RedirectingServer(location: target.Url("/to").Replace("127.0.0.1", "localhost", StringComparison.Ordinal));
        await using var session = new ClientSession(NoTimeouts);
        await using ClientResponse response = await session.GetAsync(server.Url("/from/302"),
            new() { Headers = [new("Authorization", "secret"), new("Cookie", "mine=1")] });
        Assert.Equal("GET body= auth= cookie=", await response.TextAsync());
        Assert.Equal(("secret", "mine=1"), (server.Requests[0].Header("authorization"), server.Requests[0].Header("cookie")));
    });

    [Fact]
    public void Redirect_Loop_ThrowsWithTheChain() => HttpTestLoop.Run(async () =>
    {
        await using RawHttpServer server = await StartAsync((r, w) => RespondAsync(w, 302, "", $"Location: {(r.Target == "/a" ? "/b" : "/a")}"));
        await using var session = new ClientSession(NoTimeouts);
        TooManyRedirectsException e = await Assert.ThrowsAsync<TooManyRedirectsException>(() => session.GetAsync(server.Url("/a")));
        Assert.Equal([server.Url("/a"), server.Url("/b"), server.Url("/a")], e.History.Select(u => u.ToString()));
        Assert.Contains("redirect loop", e.Message, StringComparison.Ordinal);
        Assert.Equal(0, session.ActiveRequests);
    });

    [Fact]
    public void Redirect_BackAfterACookieWasSet_IsNotALoop() => HttpTestLoop.Run(async () =>
    {
        await using RawHttpServer server = await StartAsync(async (r, w) =>
        {
            if (r.Target == "/page" && r.Header("cookie") is null)
            {
                await RespondAsync(w, 302, "", "Location: /login");
            }
            else if (r.Target == "/login")
            {
                await RespondAsync(w, 302, "", "Location: /page", "Set-Cookie: session=42; Path=/");
            }
            else
            {
                await RespondAsync(w, 200, $"page for {r.Header("cookie")}");
            }
        });
        await using var session = new ClientSession(NoTimeouts);
        await using ClientResponse response = await session.GetAsync(server.Url("/page"));
        Assert.Equal("page for session=42", await response.TextAsync());
        Assert.Equal(2, response.History.Count);
    });

    [Fact]
    public void Redirect_MoreThanMaxRedirects_Throws() => HttpTestLoop.Run(async () =>
    {
        await using RawHttpServer server = await StartAsync((r, w) =>
            RespondAsync(w, 302, "", $"Location: /{int.Parse(r.Target[1..], System.Globalization.CultureInfo.InvariantCulture) + 1}"));
        await using var session = new ClientSession(NoTimeouts with { MaxRedirects = 3 });
        TooManyRedirectsException e = await Assert.ThrowsAsync<TooManyRedirectsException>(() => session.GetAsync(server.Url("/0")));
        Assert.Equal(["/0", "/1", "/2", "/3", "/4"], e.History.Select(u => u.AbsolutePath));
        Assert.Equal(4, server.Requests.Count);
        Assert.StartsWith($"GET {server.Url("/0")} was redirected more than 3 times", e.Message, StringComparison.Ordinal);
    });

    [Fact]
    public void Redirect_Disallowed_ReturnsTheRedirect() => HttpTestLoop.Run(async () =>
    {
        await using RawHttpServer server = await RedirectingServer();
        await using var session = new ClientSession(NoTimeouts);
        await using ClientResponse response = await session.GetAsync(server.Url("/from/302"), new() { AllowRedirects = false });
        Assert.Equal((302, "/to"), (response.Status, response.GetHeader("Location")));
    });

    [Fact]
    public void Redirect_SameHostUnderLimitOfOne_DoesNotDeadlock() => HttpTestLoop.Run(async () =>
    {
        await using RawHttpServer server = await RedirectingServer();
        await using var session = new ClientSession(NoTimeouts with { LimitPerHost = 1 });
        await using ClientResponse response = await session.GetAsync(server.Url("/from/302"));
        Assert.Equal("GET body= auth= cookie=", await response.TextAsync());
    });

    [Fact]
    public void Cookies_SetByTheServer_AreSentOnLaterRequests() => HttpTestLoop.Run(async () =>
    {
        await using RawHttpServer server = await StartAsync((r, w) => r.Target == "/set"
            ? RespondAsync(w, 200, "", "Set-Cookie: a=1; Path=/", "Set-Cookie: b=2; Path=/only")
            : RespondAsync(w, 200, $"{r.Header("cookie")}"));
        await using var session = new ClientSession(NoTimeouts);
        await using (ClientResponse r = await session.GetAsync(server.Url("/set")))
        {
            await r.TextAsync();
        }
        await using ClientResponse other = await session.GetAsync(server.Url("/other"));
        await using ClientResponse only = await session.GetAsync(server.Url("/only/x"));
        Assert.Equal(["a=1", "b=2; a=1"], [await other.TextAsync(), await only.TextAsync()]);
        Assert.Equal("1", session.Cookies!.GetCookies(new Uri(server.Url("/")))["a"]!.Value);
    });

    [Fact]
    public void Cookies_NullJar_SendsNone() => HttpTestLoop.Run(async () =>
    {
        await using RawHttpServer server = await StartAsync((r, w) => r.Target == "/set"
            ? RespondAsync(w, 200, "", "Set-Cookie: a=1; Path=/")
            : RespondAsync(w, 200, $"[{r.Header("cookie")}]"));
        await using var session = new ClientSession(NoTimeouts with { UseCookies = false });
        await using (ClientResponse r = await session.GetAsync(server.Url("/set")))
        {
            await r.TextAsync();
        }
        await using ClientResponse other = await session.GetAsync(server.Url("/other"));
        Assert.Equal("[]", await other.TextAsync());
    });

    [Fact]
    public void Cookies_TwoSessionsFromOneOptions_HaveTheirOwnJars() => HttpTestLoop.Run(async () =>
    {
        await using RawHttpServer server = await StartAsync((r, w) => r.Target == "/set"
            ? RespondAsync(w, 200, "", "Set-Cookie: a=1; Path=/")
            : RespondAsync(w, 200, $"[{r.Header("cookie")}]"));
        await using var first = new ClientSession(NoTimeouts);
        await using var second = new ClientSession(NoTimeouts);
        await using (ClientResponse r = await first.GetAsync(server.Url("/set")))
        {
            await r.TextAsync();
        }
        await using ClientResponse other = await second.GetAsync(server.Url("/other"));
        Assert.Equal("[]", await other.TextAsync());
    });
}
