using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Text;
using Microsoft.Extensions.Logging;
using static Aio.Http.Tests.Server.Harness;

namespace Aio.Http.Tests.Server;

/// <summary>Item 3: router, request, responses, middlewares, errors, logging, metrics; through TestClient.</summary>
public class ApplicationTests
{
    private sealed record User(int Id, string Name);

    private static Application UsersApp()
    {
        var app = new Application();
        app.Router.Get("/users/{id:int}", req => Response.Json(new User(req.Route<int>("id"), "ann")), name: "user");
        app.Router.Post("/users", async req =>
        {
            User? u = await req.JsonAsync<User>();
            return Response.Json(u! with { Id = 7 }, 201);
        });
        app.Router.Delete("/users/{id:int}", _ => Response.Status(204));
        app.Router.Get("/files/{*path}", req => Response.Text(req.Route("path")), name: "file");
        app.Router.Get("/q", req => Response.Text(string.Join(",", req.Query.GetAll("a")) + ";" + req.Query["b"] + ";" + req.QueryString));
        app.Router.Get("/cookies", req => Response.Text(req.Cookies["s"] + "|" + req.Cookies["t"]));
        app.Router.Post("/form", async req => { MultiDict f = await req.FormAsync(); return Response.Text($"{f["name"]}|{f["x"]}|{f.Count}"); });
        app.Router.Get("/boom", _ => throw new InvalidOperationException("secret detail"));
        app.Router.Get("/teapot", _ => throw new HttpException(409, "No such thing"));
        app.Router.Get("/go", _ => Response.Redirect("/users/1"));
        return app;
    }

    private static T Run<T>(Application app, Func<TestClient, Task<T>> body) => TestLoop.Run(async () =>
    {
        await using var client = new TestClient(app);
        return await body(client);
    });

    [Fact]
    public void Router_TypedSegment_ParsesAndServesJson()
    {
        (int status, string? type, string text) = Run(UsersApp(), async c =>
        {
            TestResponse r = await c.GetAsync("/users/12");
            return (r.Status, r.Header("Content-Type"), r.Text);
        });
        Assert.Equal((200, "application/json; charset=utf-8", "{\"id\":12,\"name\":\"ann\"}"), (status, type, text));
    }

    [Fact]
    public void Router_TypedSegmentMismatch_404() =>
        Assert.Equal([404, 404, 404], Run(UsersApp(), async c => new List<int> { (await c.GetAsync("/users/ab")).Status, (await c.GetAsync("/users/")).Status, (await c.GetAsync("/nothing")).Status }));

    [Fact]
    public void Router_OtherMethod_405WithAllow()
    {
        (int status, string? allow) = Run(UsersApp(), async c =>
        {
            TestResponse r = await c.SendAsync("PUT", "/users/3");
            return (r.Status, r.Header("Allow"));
        });
        Assert.Equal((405, "GET, HEAD, DELETE"), (status, allow));
    }

    [Fact]
    public void Router_HeadOnGetRoute_HeadersWithoutBody()
    {
        (int status, string? length, int body) = Run(UsersApp(), async c =>
        {
            TestResponse r = await c.SendAsync("HEAD", "/users/12");
            return (r.Status, r.Header("Content-Length"), r.Body.Length);
        });
        Assert.Equal((200, "22", 0), (status, length, body));
    }

    [Fact]
    public void Router_CatchAll_TakesTheRestDecoded() =>
        Assert.Equal("a/b c.txt", Run(UsersApp(), async c => (await c.GetAsync("/files/a/b%20c.txt")).Text));

    [Fact]
    public void Router_UrlFor_BuildsEscapedPaths()
    {
        Application app = UsersApp();
        Assert.Equal(["/users/5", "/files/a/b%20c"], new[] { app.Router.UrlFor("user", ("id", 5)), app.Router.UrlFor("file", ("path", "a/b c")) });
        Assert.Throws<KeyNotFoundException>(() => app.Router.UrlFor("nope"));
    }

    [Fact]
    public void Router_BadTemplate_Throws()
    {
        var app = new Application();
        Assert.Throws<ArgumentException>(() => app.Router.Get("/a/{*rest}/b", _ => Response.Status(200)));
        Assert.Throws<ArgumentException>(() => app.Router.Get("/a/{id:float}", _ => Response.Status(200)));
        Assert.Throws<ArgumentException>(() => app.Router.Get("no-slash", _ => Response.Status(200)));
    }

    [Fact]
    public void Request_QueryAndCookies_Parsed()
    {
        List<string> texts = Run(UsersApp(), async c => new List<string>
        {
            (await c.GetAsync("/q?a=1&b=x+y&a=%C3%A9")).Text,
            (await c.GetAsync("/cookies", ("Cookie", "s=abc; t=\"q\""))).Text,
        });
        Assert.Equal(["1,é;x y;a=1&b=x+y&a=%C3%A9", "abc|q"], texts);
    }

    [Fact]
    public void Request_JsonAsync_RoundTrips() =>
        Assert.Equal((201, "{\"id\":7,\"name\":\"bob\"}"), Run(UsersApp(), async c =>
        {
            TestResponse r = await c.PostJsonAsync("/users", new User(0, "bob"));
            return (r.Status, r.Text);
        }));

    [Fact]
    public void Request_JsonAsyncInvalid_400() =>
        Assert.Equal(400, Run(UsersApp(), async c => (await c.PostAsync("/users", "{nope", "application/json")).Status));

    [Fact]
    public void Request_FormAsync_UrlEncoded() =>
        Assert.Equal("a b|é|2", Run(UsersApp(), async c => (await c.PostAsync("/form", "name=a+b&x=%C3%A9", "application/x-www-form-urlencoded")).Text));

    [Fact]
    public void Request_FormAsyncOtherType_415() =>
        Assert.Equal(415, Run(UsersApp(), async c => (await c.PostAsync("/form", "x", "text/plain")).Status));

    [Fact]
    public void Request_UsedAfterResponse_Throws()
    {
        Request? kept = null;
        var app = new Application();
        app.Router.Get("/", req => { kept = req; return Response.Text("ok"); });
        Run(app, async c => (await c.GetAsync("/")).Status);
        Assert.Throws<InvalidOperationException>(() => kept!.Headers["Host"]);
    }

    [Fact]
    public void Handler_Throws_500WithoutExceptionTextAndLogged()
    {
        var logs = new ListLoggerFactory();
        Application app = UsersApp();
        app.LoggerFactory = logs;
        string text = Run(app, async c => (await c.GetAsync("/boom")).Text);
        Assert.Equal("500 Internal Server Error", text);
        Assert.Equal([(202, LogLevel.Error, "The handler of <Request GET /boom HTTP/1.1> failed; the client got a 500.")],
            logs["Aio.Http.Server"].Entries.Select(e => (e.Id.Id, e.Level, e.Message)).ToList());
    }

    [Fact]
    public void Handler_ThrowsWithDebug_500WithExceptionText()
    {
        Application app = UsersApp();
        app.Debug = true;
        Assert.Contains("secret detail", Run(app, async c => (await c.GetAsync("/boom")).Text), StringComparison.Ordinal);
    }

    [Fact]
    public void Handler_ThrowsHttpException_StatusAndMessage() =>
        Assert.Equal((409, "No such thing"), Run(UsersApp(), async c => { TestResponse r = await c.GetAsync("/teapot"); return (r.Status, r.Text); }));

    [Fact]
    public void Response_Redirect_302WithLocation() =>
        Assert.Equal((302, "/users/1"), Run(UsersApp(), async c => { TestResponse r = await c.GetAsync("/go"); return (r.Status, r.Header("Location")); }));

    [Fact]
    public void Response_Status204_NoBodyNoLength() =>
        Assert.Equal((204, (string?)null), Run(UsersApp(), async c => { TestResponse r = await c.SendAsync("DELETE", "/users/1"); return (r.Status, r.Header("Content-Length")); }));

    [Fact]
    public void ResponseHeaders_ValueWithCrLf_Rejected()
    {
        var r = Response.Text("x");
        Assert.Throws<ArgumentException>(() => r.Headers["X-A"] = "a\r\nSet-Cookie: evil=1");
        Assert.Throws<ArgumentException>(() => r.Headers["X A"] = "a");
    }

    [Fact]
    public void Middlewares_RunOutermostFirst_AndChangeTheResponse()
    {
        var events = new List<string>();
        var app = new Application();
        app.Router.Get("/", _ => { events.Add("handler"); return Response.Text("ok"); });
        app.Use(async (req, next) =>
        {
            events.Add("outer in");
            Response r = await next(req);
            events.Add("outer out");
            r.Headers["X-Served-By"] = "aio";
            return r;
        });
        app.Use(async (req, next) =>
        {
            events.Add("inner in");
            Response r = await next(req);
            events.Add("inner out");
            return r;
        });
        string? header = Run(app, async c => (await c.GetAsync("/")).Header("X-Served-By"));
        Assert.Equal("aio", header);
        Assert.Equal(["outer in", "inner in", "handler", "inner out", "outer out"], events);
    }

    [Fact]
    public void Middleware_AnswersWithoutNext_HandlerNotCalled()
    {
        var app = new Application();
        bool called = false;
        app.Router.Get("/", _ => { called = true; return Response.Text("ok"); });
        app.Use((req, next) => req.Headers["Authorization"] is null ? new ValueTask<Response>(Response.Status(401)) : next(req));
        Assert.Equal(401, Run(app, async c => (await c.GetAsync("/")).Status));
        Assert.False(called);
    }

    [Fact]
    public void Use_AfterStart_Throws()
    {
        var app = new Application();
        Run(app, c => Task.FromResult(0));
        Assert.Throws<InvalidOperationException>(() => app.Use((r, n) => n(r)));
    }

    [Fact]
    public void StreamResponse_UnknownLength_Chunked()
    {
        var app = new Application();
        app.Router.Get("/s", _ => Response.Stream(async w =>
        {
            await w.WriteAsync("hello ");
            await Sleep(1);
            await w.WriteAsync("world");
        }, "text/plain"));
        string raw = TestLoop.Run(async () =>
        {
            await using var client = new TestClient(app);
            return await ExchangeAsync(client, [Encoding.ASCII.GetBytes("GET /s HTTP/1.1\r\nHost: a\r\n\r\nGET /s HTTP/1.0\r\n\r\n")]);
        });
        Assert.Equal(
            "HTTP/1.1 200 OK\r\nDate: X\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nhello \r\n5\r\nworld\r\n0\r\n\r\n" +
            "HTTP/1.1 200 OK\r\nDate: X\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\nhello world", raw);
    }

    [Fact]
    public void ClientDisconnect_CancelsTheHandlersScope()
    {
        var events = new List<string>();
        var app = new Application();
        app.Router.Get("/slow", async req =>
        {
            events.Add("started");
            try
            {
                await Sleep(100);
                events.Add("finished");
            }
            catch (CancelledError)
            {
                events.Add($"cancelled at {EventLoop.GetRunningLoop().Time():0}; aborted={req.Aborted.IsCancellationRequested}");
                throw;
            }
            return Response.Text("late");
        });
        TestLoop.Run(async () =>
        {
            await using var client = new TestClient(app);
            TestConnection c = client.Connect();
            c.Send("GET /slow HTTP/1.1\r\nHost: a\r\n\r\n");
            await Sleep(3);
            c.Abort();
            await Sleep(1);
        });
        Assert.Equal(["started", "cancelled at 3; aborted=True"], events);
    }

    [Fact]
    public void AccessLog_OneLinePerRequest()
    {
        var logs = new ListLoggerFactory();
        Application app = UsersApp();
        app.LoggerFactory = logs;
        Run(app, async c => { await c.GetAsync("/users/1"); await c.GetAsync("/nothing"); return 0; });
        Assert.Equal(["127.0.0.1:50000 \"GET /users/1\" 200 21 0ms", "127.0.0.1:50000 \"GET /nothing\" 404 13 0ms"],
            logs["Aio.Http.Access"].Entries.Select(e => e.Message).ToList());
    }

    [Fact]
    public void AccessLog_BodyBytesSentAndLoopTime_ForFilesRangesHeadStreamsAndSlowHandlers()
    {
        // Bytes: the body bytes written (none for HEAD or 304); the duration: loop time (virtual here) from the head to the last byte.
        string dir = Directory.CreateTempSubdirectory("aio-access-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(dir, "f.txt"), "0123456789abcdef");
            var logs = new ListLoggerFactory();
            var app = new Application { LoggerFactory = logs };
            app.Router.Static("/files", dir);
            app.Router.Get("/slow", async _ => { await Sleep(0.25); return Response.Text("late"); });
            app.Router.Get("/stream", _ => Response.Stream(async body =>
            {
                await body.WriteAsync("abc");
                await Sleep(0.5);
                await body.WriteAsync("defg");
            }, "text/plain"));
            Run(app, async c =>
            {
                await c.GetAsync("/files/f.txt");
                await c.SendAsync("HEAD", "/files/f.txt");
                await c.GetAsync("/files/f.txt", ("Range", "bytes=2-5"));
                TestResponse full = await c.GetAsync("/files/f.txt");
                await c.GetAsync("/files/f.txt", ("If-None-Match", full.Header("ETag")!));
                await c.GetAsync("/slow");
                await c.GetAsync("/stream");
                return 0;
            });
            Assert.Equal(
                [
                    "\"GET /files/f.txt\" 200 16 0ms",
                    "\"HEAD /files/f.txt\" 200 0 0ms",
                    "\"GET /files/f.txt\" 206 4 0ms",
                    "\"GET /files/f.txt\" 200 16 0ms",
                    "\"GET /files/f.txt\" 304 0 0ms",
                    "\"GET /slow\" 200 4 250ms",
                    "\"GET /stream\" 200 7 500ms",
                ],
                logs["Aio.Http.Access"].Entries.Select(e => e.Message[(e.Message.IndexOf(' ', StringComparison.Ordinal) + 1)..]).ToList());
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Metrics_RequestDuration_WithSemanticConventionTags()
    {
        var recorded = new List<string>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == "Aio.Http.Server" && instrument.Name == "http.server.request.duration")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<double>((_, _, tags, _) =>
        {
            var t = new Dictionary<string, object?>();
            foreach (KeyValuePair<string, object?> kv in tags)
            {
                t[kv.Key] = kv.Value;
            }
            if (t.GetValueOrDefault("http.route") is not "/users/{id:int}")
            {
                return;   // other test classes run in parallel and share the static Meter
            }
            recorded.Add($"{t["http.request.method"]} {t["http.route"]} {t["http.response.status_code"]} {t["url.scheme"]} {t["network.protocol.version"]}");
        });
        listener.Start();
        Run(UsersApp(), async c => (await c.GetAsync("/users/5")).Status);
        Assert.Equal(["GET /users/{id:int} 200 http 1.1"], recorded);
    }

    [Fact]
    public void Tracing_ActivityPerRequest_NamedAfterRoute()
    {
        var stopped = new List<string>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name == "Aio.Http.Server",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = a => _ = a.TraceId.ToString() != "0af7651916cd43dd8448eb211c80319c" ? 0 : Add($"{a.DisplayName} {a.Kind} {a.GetTagItem("http.response.status_code")} {a.ParentId}"),
        };
        int Add(string s)
        {
            stopped.Add(s);
            return 0;
        }
        ActivitySource.AddActivityListener(listener);
        Run(UsersApp(), async c => (await c.GetAsync("/users/5", ("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"))).Status);
        Assert.Equal(["GET /users/{id:int} Server 200 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"], stopped);
    }
}

/// <summary>A streamed response waits for a client that does not read.</summary>
public class StreamBackPressureTests
{
    [Fact]
    public void StreamResponse_ClientNotReading_WritesWaitUntilItReads()
    {
        var events = new List<string>();
        var app = new Application();
        app.Router.Get("/big", _ => Response.Stream(async body =>
        {
            var chunk = new byte[16 * 1024];
            for (int i = 1; i <= 10; i++)
            {
                await body.WriteAsync(chunk);
                events.Add($"wrote {i} at {EventLoop.GetRunningLoop().Time():0}");
            }
        }));
        TestLoop.Run(async () =>
        {
            await using var client = new TestClient(app);
            TestConnection c = client.Connect();
            c.PauseReading();
            c.Send("GET /big HTTP/1.1\r\nHost: a\r\n\r\n");
            await Sleep(5);
            events.Add("client reads");
            c.ResumeReading();
            TestResponse r = await c.ReadResponseAsync();
            events.Add($"got {r.Body.Length}");
        });
        // The 4th chunk takes the unread bytes (head and chunk framing included) past 64 KiB: its write waits until the
        // client reads again at t=5.
        Assert.Equal(["wrote 1 at 0", "wrote 2 at 0", "wrote 3 at 0", "client reads", "wrote 4 at 5", "wrote 5 at 5",
            "wrote 6 at 5", "wrote 7 at 5", "wrote 8 at 5", "wrote 9 at 5", "wrote 10 at 5", "got 163840"], events);
    }
}
