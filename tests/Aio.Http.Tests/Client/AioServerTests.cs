using System.Net;
using System.Net.Http;

namespace Aio.Http.Tests.Client;

/// <summary>
/// The client against Aio.Http's own server, in process on the test's loop and its virtual clock: each timeout kind,
/// per-host queueing, cancellation mid-body, redirects, cookies, 100 MB each way, a server that breaks off a response.
/// (The same behaviours against a raw server that misbehaves on demand are in the other test classes.)
/// </summary>
[Collection(nameof(TimingCollection))]
public sealed class AioServerTests
{
    private static readonly ClientSessionOptions NoTimeouts = new() { Timeout = ClientTimeout.None };

    private static async Task<(HttpServer Server, string Url)> ServeAsync(params Action<Application>[] configure)
    {
        var app = new Application();
        foreach (Action<Application> c in configure)
        {
            c(app);
        }
        HttpServer server = await app.StartAsync("127.0.0.1", 0);
        return (server, $"http://127.0.0.1:{server.Port}");
    }

    private static Handler Stall(List<string> log) => async request =>
    {
        log.Add($"{request.Path} started");
        try
        {
            await new AioEvent().WaitAsync();
            return Response.Text("never");
        }
        catch (CancelledError)
        {
            log.Add($"{request.Path} cancelled");
            throw;
        }
    };

    // ---- timeouts

    [Fact]
    public void Total_HandlerNeverAnswers_ThrowsAtTheDeadlineAndTheHandlerIsCancelled() => HttpTestLoop.Run(async () =>
    {
        var log = new List<string>();
        (HttpServer server, string url) = await ServeAsync(app => app.Router.Get("/stall", Stall(log)));
        await using (server)
        {
            // Every virtual second costs a jump (the server's heartbeat), and each jump the foreign-wait threshold of
            // real time: a short limit keeps the test at a few seconds.
            await using var session = new ClientSession(new() { Timeout = new() { Total = TimeSpan.FromSeconds(2.5) } });
            ClientTimeoutException e = await Assert.ThrowsAsync<ClientTimeoutException>(() => session.GetAsync(url + "/stall"));
            log.Add($"{e.Kind} at {HttpTestLoop.Now}, open {session.OpenConnections}, active {session.ActiveRequests}");
        }
        // A handler that neither reads nor writes does not see the client's FIN (the server takes it for a half-close
        // and would still answer): the server's shutdown is what cancels it here.
        Assert.Equal(["/stall started", "Total at 2.5, open 0, active 0", "/stall cancelled"], log);
    }, foreignWaitThreshold: 2);

    [Fact]
    public void Read_StreamedResponseGoesQuiet_ThrowsAfterTheIdleLimitButNotBefore() => HttpTestLoop.Run(async () =>
    {
        var log = new List<string>();
        (HttpServer server, string url) = await ServeAsync(app => app.Router.Get("/trickle", _ => Response.Stream(async body =>
        {
            for (int i = 0; i < 3; i++)
            {
                await Sleep(0.5);                                 // gaps of 0.5 s under a 0.75 s idle limit: fine
                await body.WriteAsync("x");
            }
            await new AioEvent().WaitAsync();                     // then silence
        }, "text/plain")));
        await using (server)
        {
            // Short times: each virtual second costs a jump (the server's heartbeat), and each jump real time.
            await using var session = new ClientSession(new()
            {
                Timeout = new() { Read = TimeSpan.FromSeconds(0.75) },
                Trace = e => { if (e.Kind == ClientTraceEventKind.Chunk) log.Add($"chunk at {e.Elapsed}"); },
            });
            await using ClientResponse response = await session.GetAsync(url + "/trickle");
            ClientTimeoutException e = await Assert.ThrowsAsync<ClientTimeoutException>(() => response.ReadAllBytesAsync());
            log.Add($"{e.Kind} at {HttpTestLoop.Now}, active {session.ActiveRequests}, open {session.OpenConnections}");
        }
        Assert.Equal(["chunk at 0.5", "chunk at 1", "chunk at 1.5", "Read at 2.25, active 0, open 0"], log);
    }, foreignWaitThreshold: 1.5);

    [Fact]
    public void Connect_QueuedBehindAStalledRequest_ThrowsAtTheConnectLimit() => HttpTestLoop.Run(async () =>
    {
        var log = new List<string>();
        (HttpServer server, string url) = await ServeAsync(app => app.Router.Get("/{*path}", Stall(log)));
        await using (server)
        {
            await using var session = new ClientSession(NoTimeouts with { LimitPerHost = 1 });
            AioTask first = CreateTask(async () => await session.GetAsync(url + "/holds-the-place"));
            while (session.ActiveRequests == 0)
            {
                await Sleep(0);
            }
            ClientTimeoutException e = await Assert.ThrowsAsync<ClientTimeoutException>(() =>
                session.GetAsync(url + "/queued", new() { Timeout = new() { Connect = TimeSpan.FromSeconds(2) } }));
            log.Add($"{e.Kind} at {HttpTestLoop.Now}, queued {session.QueuedRequests}");
            first.Cancel();
            await Wait([first]);
        }
        Assert.Equal(["/holds-the-place started", "Connect at 2, queued 0", "/holds-the-place cancelled"], log);
    });

    // ---- limits

    [Fact]
    public void LimitPerHost_FiveRequests_ReachTheServerOneAtATimeInCallOrder() => HttpTestLoop.Run(async () =>
    {
        var log = new List<string>();
        (HttpServer server, string url) = await ServeAsync(app => app.Router.Get("/{n:int}", async request =>
        {
            log.Add($"server {request.Route("n")} at {HttpTestLoop.Now}");
            await Sleep(1);
            return Response.Text(request.Route("n"));
        }));
        await using (server)
        {
            await using var session = new ClientSession(NoTimeouts with { LimitPerHost = 1 });
            AioTask<string>[] calls = Enumerable.Range(0, 5).Select(i => CreateTask(async () =>
            {
                await using ClientResponse response = await session.GetAsync($"{url}/{i}");
                return await response.TextAsync();
            })).ToArray();
            await Sleep(0.5);
            log.Add($"active {session.ActiveRequests}, queued {session.QueuedRequests}");
            string[] bodies = await Gather(calls);
            log.Add($"done at {HttpTestLoop.Now}: {string.Join(",", bodies)}, connections opened {session.OpenedConnections}");
        }
        Assert.Equal(
            ["server 0 at 0", "active 1, queued 4", "server 1 at 1", "server 2 at 2", "server 3 at 3", "server 4 at 4", "done at 5: 0,1,2,3,4, connections opened 1"],
            log);
    });

    [Fact]
    public void Cancel_MidBody_FreesTheConnectionAndTheServerSeesTheDisconnect() => HttpTestLoop.Run(async () =>
    {
        var log = new List<string>();
        var serverDone = new AioEvent();
        (HttpServer server, string url) = await ServeAsync(app => app.Router.Get("/body", _ => Response.Stream(async body =>
        {
            await body.WriteAsync(new byte[10]);
            try
            {
                while (true)
                {
                    await Sleep(1);                               // then a byte a second: a write finds the client gone
                    await body.WriteAsync(new byte[1]);
                }
            }
            catch (Exception e)
            {
                log.Add($"server: {e.GetType().Name}");
                serverDone.Set();
                throw;
            }
        }, contentLength: 1000)));
        await using (server)
        {
            await using var session = new ClientSession(NoTimeouts);
            var gotTen = new AioEvent();
            AioTask task = CreateTask(async () =>
            {
                await using ClientResponse response = await session.GetAsync(url + "/body");
                byte[] buffer = new byte[100];
                log.Add($"read {await response.ReadAsync(buffer)}");
                gotTen.Set();
                await response.ReadAsync(buffer);
            });
            await gotTen.WaitAsync();
            log.Add($"open {session.OpenConnections}, active {session.ActiveRequests}");
            task.Cancel();
            await Wait([task]);
            log.Add($"cancelled {task.Cancelled}, open {session.OpenConnections}, active {session.ActiveRequests}");
            await FailAfter(30, () => serverDone.WaitAsync().AsTask());
        }
        Assert.Equal(["read 10", "open 1, active 1", "cancelled True, open 0, active 0", "server: CancelledError"], log);
    });

    // ---- redirects

    private static void RedirectRoutes(Application app)
    {
        foreach (string method in new[] { "GET", "HEAD", "POST", "PUT", "DELETE" })
        {
            app.Router.Route(method, "/from/{status:int}", request =>
            {
                Response r = Response.Status(request.Route<int>("status"));
                r.Headers["Location"] = "/to";
                return r;
            });
            app.Router.Route(method, "/to", async request =>
            {
                string body = await request.TextAsync();
                var r = Response.Text($"{request.Method} body={(body.Length == 0 ? "none" : body)}");
                r.Headers["X-Method"] = request.Method;
                return r;
            });
        }
        app.Router.Get("/a", _ => Response.Redirect("/b"));
        app.Router.Get("/b", _ => Response.Redirect("/a"));
        app.Router.Get("/n/{i:int}", request => Response.Redirect($"/n/{request.Route<int>("i") + 1}"));
    }

    [Theory]
    [InlineData("POST", 301, "GET body=none")]
    [InlineData("POST", 302, "GET body=none")]
    [InlineData("POST", 303, "GET body=none")]
    [InlineData("PUT", 303, "GET body=none")]
    [InlineData("PUT", 301, "PUT body=payload")]
    [InlineData("PUT", 302, "PUT body=payload")]
    [InlineData("POST", 307, "POST body=payload")]
    [InlineData("POST", 308, "POST body=payload")]
    [InlineData("DELETE", 307, "DELETE body=none")]
    [InlineData("HEAD", 303, "HEAD")]
    public void Redirect_MethodRules_FollowRfc9110(string method, int status, string expected) => HttpTestLoop.Run(async () =>
    {
        (HttpServer server, string url) = await ServeAsync(RedirectRoutes);
        await using (server)
        {
            await using var session = new ClientSession(NoTimeouts);
            var content = method is "POST" or "PUT" ? new StringContent("payload") : null;
            await using ClientResponse response = await session.RequestAsync(new HttpMethod(method), $"{url}/from/{status}", new() { Content = content });
            string seen = method == "HEAD" ? response.GetHeader("X-Method")! : await response.TextAsync();
            Assert.Equal((200, expected, status, $"{url}/to"), (response.Status, seen, response.History.Single().Status, response.Url.ToString()));
        }
    });

    [Fact]
    public void Redirect_Loop_ThrowsWithTheChain() => HttpTestLoop.Run(async () =>
    {
        (HttpServer server, string url) = await ServeAsync(RedirectRoutes);
        await using (server)
        {
            await using var session = new ClientSession(NoTimeouts);
            TooManyRedirectsException e = await Assert.ThrowsAsync<TooManyRedirectsException>(() => session.GetAsync(url + "/a"));
            Assert.Equal([$"{url}/a", $"{url}/b", $"{url}/a"], e.History.Select(u => u.ToString()));
            Assert.Equal(0, session.ActiveRequests);
        }
    });

    [Fact]
    public void Redirect_MoreThanMaxRedirects_ThrowsAndDisallowedReturnsTheRedirect() => HttpTestLoop.Run(async () =>
    {
        (HttpServer server, string url) = await ServeAsync(RedirectRoutes);
        await using (server)
        {
            await using var session = new ClientSession(NoTimeouts with { MaxRedirects = 3 });
            TooManyRedirectsException e = await Assert.ThrowsAsync<TooManyRedirectsException>(() => session.GetAsync(url + "/n/0"));
            Assert.Equal(Enumerable.Range(0, 5).Select(i => $"{url}/n/{i}"), e.History.Select(u => u.ToString()));
            await using ClientResponse first = await session.GetAsync(url + "/n/0", new() { AllowRedirects = false });
            Assert.Equal((302, $"{url}/n/1"), (first.Status, first.GetHeader("Location") is string l ? url + l : null));
            Assert.Equal(0, session.ActiveRequests);
        }
    });

    [Fact]
    public void Redirect_CrossOrigin_DropsAuthorizationSameOriginKeepsIt() => HttpTestLoop.Run(async () =>
    {
        (HttpServer other, string otherUrl) = await ServeAsync(app =>
            app.Router.Get("/echo", request => Response.Text(request.Headers["Authorization"] ?? "(none)")));
        (HttpServer first, string firstUrl) = await ServeAsync(app =>
        {
            app.Router.Get("/away", _ => Response.Redirect(otherUrl + "/echo"));
            app.Router.Get("/here", _ => Response.Redirect("/echo"));
            app.Router.Get("/echo", request => Response.Text(request.Headers["Authorization"] ?? "(none)"));
        });
        await using (other)
        await using (first)
        {
            await using var session = new ClientSession(NoTimeouts);
            var auth = new ClientRequestOptions { Headers = [new("Authorization", "Bearer secret")] };
            await using ClientResponse away = await session.GetAsync(firstUrl + "/away", auth);
            await using ClientResponse here = await session.GetAsync(firstUrl + "/here", auth);
            Assert.Equal(("(none)", "Bearer secret"), (await away.TextAsync(), await here.TextAsync()));
        }
    });

    // ---- cookies

    [Fact]
    public void Cookies_SetByTheServer_AreSentOnLaterRequestsUntilExpired() => HttpTestLoop.Run(async () =>
    {
        (HttpServer server, string url) = await ServeAsync(app =>
        {
            app.Router.Post("/login", _ => Response.Text("in").SetCookie("session", "abc123"));
            app.Router.Post("/logout", _ => Response.Text("out").SetCookie("session", "", maxAge: 0));
            app.Router.Get("/me", request => Response.Text(request.Cookies.TryGetValue("session", out string? s) ? s : "(anonymous)"));
        });
        await using (server)
        {
            await using var session = new ClientSession(NoTimeouts);
            var seen = new List<string>();
            async Task Call(HttpMethod method, string path)
            {
                await using ClientResponse r = await session.RequestAsync(method, url + path);
                seen.Add(await r.TextAsync());
            }
            await Call(HttpMethod.Get, "/me");
            await Call(HttpMethod.Post, "/login");
            await Call(HttpMethod.Get, "/me");
            await Call(HttpMethod.Get, "/me");
            await Call(HttpMethod.Post, "/logout");
            await Call(HttpMethod.Get, "/me");
            Assert.Equal(["(anonymous)", "in", "abc123", "abc123", "out", "(anonymous)"], seen);
        }
    });

    // ---- 100 MB each way, and a response broken off

    private const long Size = 100L * 1024 * 1024;
    private const long Bound = 40L * 1024 * 1024;               // far below the 100 MB that buffering would take

    [Fact]
    public void Download_100MBFromAStreamingHandler_StreamsWithBoundedMemory() => HttpTestLoop.Run(async () =>
    {
        byte[] block = new byte[64 * 1024];
        (HttpServer server, string url) = await ServeAsync(app => app.Router.Get("/big", _ => Response.Stream(async body =>
        {
            for (long sent = 0; sent < Size; sent += block.Length)
            {
                await body.WriteAsync(block);                     // waits for the socket to drain
            }
        }, contentLength: Size)));
        await using (server)
        {
            await using var session = new ClientSession(NoTimeouts);
            long baseline = GC.GetTotalMemory(forceFullCollection: true), peak = 0, received = 0;
            await using ClientResponse response = await session.GetAsync(url + "/big");
            await foreach (ReadOnlyMemory<byte> chunk in response.ReadChunksAsync())
            {
                received += chunk.Length;
                peak = Math.Max(peak, GC.GetTotalMemory(false) - baseline);
            }
            Assert.Equal((Size, true), (received, response.IsReleased));
            Assert.True(peak < Bound, $"the heap grew by {peak / 1024 / 1024} MB while streaming 100 MB");
        }
    }, foreignWaitThreshold: 5);

    [Fact]
    public void Upload_100MBToAReadingHandler_StreamsWithBoundedMemory() => HttpTestLoop.Run(async () =>
    {
        long baseline = GC.GetTotalMemory(forceFullCollection: true), peak = 0;
        (HttpServer server, string url) = await ServeAsync(app => app.Limits.MaxRequestBodySize = null, app => app.Router.Put("/upload", async request =>
        {
            byte[] buffer = new byte[64 * 1024];
            long received = 0;
            int n;
            while ((n = await request.ReadAsync(buffer)) > 0)
            {
                received += n;
                peak = Math.Max(peak, GC.GetTotalMemory(false) - baseline);
            }
            return Response.Text($"got {received}");
        }));
        await using (server)
        {
            await using var session = new ClientSession(NoTimeouts);
            var content = new StreamContent(new StreamingTests.PatternStream(Size), 64 * 1024);
            content.Headers.ContentLength = Size;
            await using ClientResponse response = await session.PutAsync(url + "/upload", content);
            Assert.Equal($"got {Size}", await response.TextAsync());
            Assert.True(peak < Bound, $"the heap grew by {peak / 1024 / 1024} MB while streaming 100 MB");
        }
    }, foreignWaitThreshold: 5);

    [Fact]
    public void HandlerFailsMidBody_TheClientGetsAClearErrorAndTheConnectionIsGone() => HttpTestLoop.Run(async () =>
    {
        (HttpServer server, string url) = await ServeAsync(app => app.Router.Get("/cut", _ => Response.Stream(async body =>
        {
            await body.WriteAsync(new byte[10]);
            await Sleep(0.1);
            throw new InvalidOperationException("the handler broke down");
        }, contentLength: 1000)));
        await using (server)
        {
            await using var session = new ClientSession(NoTimeouts);
            await using ClientResponse response = await session.GetAsync(url + "/cut");
            HttpRequestException e = await Assert.ThrowsAsync<HttpRequestException>(() => response.TextAsync());
            Assert.Equal(HttpRequestError.ResponseEnded, e.HttpRequestError);
            Assert.StartsWith($"The server closed the connection in the middle of the response body of GET {url}/cut (status 200) after 10 bytes of the 1000 announced: the body is incomplete.",
                e.Message, StringComparison.Ordinal);
            Assert.Equal((0, 0, true), (session.ActiveRequests, session.OpenConnections, response.IsReleased));
        }
    });
}
