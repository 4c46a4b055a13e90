using System.Globalization;
using System.Text.Json;
using Aio.Cli.Dashboard;
using Aio.Cli.Watch;
using Aio.Http.Testing;
using Microsoft.Data.Sqlite;

namespace Aio.Cli.Tests;

/// <summary>A wall clock a test sets by hand (rounds of a history at chosen times, in real time).</summary>
internal sealed class ManualWallClock(DateTimeOffset now) : TimeProvider
{
    public DateTimeOffset Now { get; set; } = now;

    public override DateTimeOffset GetUtcNow() => Now;
}

/// <summary>A probe whose answer is a function of the URL and the round's time (no real request, no sleep).</summary>
internal sealed class ScriptedProbe(Func<string, DateTimeOffset, CheckRecord> answer) : IWatchProbe
{
    public Task<CheckRecord> CheckAsync(string url, DateTimeOffset at) => Task.FromResult(answer(url, at));
}

/// <summary>The dashboard's JSON API, assets and live feed, in-process over TestClient, in virtual time.</summary>
[Collection(nameof(RunsAlone))]   // hundreds of SQLite writes in a few seconds: not beside fetch's timing-sensitive tests
public sealed class DashboardTests : IDisposable
{
    private static readonly DateTimeOffset Start = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private const string A = "http://a.test/", B = "http://b.test/";
    private readonly string _dir = Directory.CreateTempSubdirectory("aio-dash-").FullName;

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
    }

    /// <summary>a is up with latency 10 + k ms at round k; b is down at rounds 2 and 3.</summary>
    private static CheckRecord Answer(string url, DateTimeOffset at)
    {
        int k = (int)((at - Start).TotalSeconds / 30);
        return url == B && k is 2 or 3
            ? new CheckRecord(url, at, false, 503, 5, "503 Service Unavailable")
            : new CheckRecord(url, at, true, 200, url == A ? 10 + k : 20, null);
    }

    private sealed record Rig(WatchMonitor Monitor, WatchDashboard Dashboard, TestClient Client) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await Client.DisposeAsync();
            await Monitor.CloseAsync();
        }
    }

    /// <summary>A monitor on a fresh file with <paramref name="rounds"/> rounds 30 s apart from <see cref="Start"/> (the loop's clock at 30 × rounds).</summary>
    private async Task<Rig> OpenAsync(int rounds, TimeSpan? heartbeat = null)
    {
        var settings = new WatchSettings([A, B], TimeSpan.FromSeconds(30), HttpMethod.Head, TimeSpan.FromSeconds(10), Path.Combine(_dir, "w.db"), TimeSpan.FromDays(30), null, false)
        {
            WallClock = new Aio.Jobs.LoopWallClock(EventLoop.GetRunningLoop(), Start),
        };
        var monitor = new WatchMonitor(settings, new ScriptedProbe(Answer), new ListLogger());
        await monitor.OpenAsync();
        var dashboard = new WatchDashboard(monitor, settings, settings.WallClock, new ListLogger(), heartbeat ?? TimeSpan.Zero);
        for (int k = 0; k < rounds; k++)
        {
            await monitor.RoundAsync();
            await Sleep(30);
        }
        return new Rig(monitor, dashboard, new TestClient(dashboard.Application));
    }

    private static long Ms(int round) => Start.AddSeconds(30 * round).ToUnixTimeMilliseconds();

    private static string Iso(int round) => Start.AddSeconds(30 * round).UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture);

    private static string CheckJson(int round, string url)
    {
        CheckRecord c = Answer(url, Start.AddSeconds(30 * round));
        return $"{{\"url\":\"{url}\",\"at\":\"{Iso(round)}\",\"t\":{Ms(round)},\"state\":\"{(c.Up ? "up" : "down")}\",\"status\":{c.Status}," +
            $"\"latency_ms\":{c.LatencyMs.ToString(CultureInfo.InvariantCulture)},\"error\":{(c.Error is null ? "null" : $"\"{c.Error}\"")}}}";
    }

    private static string RoundJson(int round) => $"{{\"at\":\"{Iso(round)}\",\"t\":{Ms(round)},\"checks\":[{CheckJson(round, A)},{CheckJson(round, B)}]}}";

    /// <summary>The chunked body of a raw response (chunk sizes removed; <c>&lt;end&gt;</c> for the last chunk).</summary>
    private static string Body(string raw)
    {
        int pos = raw.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4;
        var sb = new System.Text.StringBuilder();
        while (pos < raw.Length)
        {
            int eol = raw.IndexOf("\r\n", pos, StringComparison.Ordinal);
            if (eol < 0)
            {
                break;
            }
            int size = Convert.ToInt32(raw[pos..eol], 16);
            if (eol + 2 + size > raw.Length)
            {
                break;   // a chunk still on its way
            }
            if (size == 0)
            {
                sb.Append("<end>");
                break;
            }
            sb.Append(raw.AsSpan(eol + 2, size));
            pos = eol + 2 + size + 2;
        }
        return sb.ToString();
    }

    private const string Hello = "event: hello\nretry: 2000\ndata: {\"every_s\":30,\"urls\":[\"http://a.test/\",\"http://b.test/\"]}\n\n";

    [Fact]
    public void ApiChecks_SinceUntilUrlLimit_AnswersTheHistoryOldestFirst() => AioTest.Run(async () =>
    {
        await using Rig rig = await OpenAsync(5);   // rounds 0..4; the clock is at round 5
        TestResponse all = await rig.Client.GetAsync($"/api/checks?since={Iso(0)}");
        Assert.Equal((200, "application/json; charset=utf-8", "no-store"), (all.Status, all.Header("Content-Type"), all.Header("Cache-Control")));
        Assert.Equal(
            $"{{\"from\":\"{Iso(0)}\",\"to\":\"{Start.AddSeconds(150).AddMilliseconds(1).UtcDateTime:yyyy-MM-ddTHH:mm:ss.fff}Z\",\"cursor\":{Ms(4)},\"every_s\":30,\"checks\":[" +
            string.Join(",", Enumerable.Range(0, 5).SelectMany(k => new[] { CheckJson(k, A), CheckJson(k, B) })) + "]}",
            all.Text);

        // One URL, a window by duration ago (90 s before round 5: rounds 2..4), the newest two of them.
        using JsonDocument b = JsonDocument.Parse((await rig.Client.GetAsync($"/api/checks?url={Uri.EscapeDataString(B)}&since=90s&limit=2")).Body);
        Assert.Equal([(Ms(3), "down"), (Ms(4), "up")],
            b.RootElement.GetProperty("checks").EnumerateArray().Select(c => (c.GetProperty("t").GetInt64(), c.GetProperty("state").GetString())));
        Assert.Equal(Ms(4), b.RootElement.GetProperty("cursor").GetInt64());

        // until (Unix milliseconds), exclusive; an empty window's cursor is just before it.
        using JsonDocument early = JsonDocument.Parse((await rig.Client.GetAsync($"/api/checks?url={Uri.EscapeDataString(A)}&since={Ms(0)}&until={Ms(2)}")).Body);
        Assert.Equal([Ms(0), Ms(1)], early.RootElement.GetProperty("checks").EnumerateArray().Select(c => c.GetProperty("t").GetInt64()));
        using JsonDocument none = JsonDocument.Parse((await rig.Client.GetAsync($"/api/checks?since={Ms(10)}")).Body);
        Assert.Equal((0, Ms(10) - 1), (none.RootElement.GetProperty("checks").GetArrayLength(), none.RootElement.GetProperty("cursor").GetInt64()));
    });

    [Fact]
    public void ApiChecks_AfterARestart_AnswersBothRunsHistory() => AioTest.Run(async () =>
    {
        // The first run's rounds 0..2 are in the file; a second watch (a restart, 10 minutes later) adds its own.
        await (await OpenAsync(3)).DisposeAsync();
        var settings = new WatchSettings([A, B], TimeSpan.FromSeconds(30), HttpMethod.Head, TimeSpan.FromSeconds(10), Path.Combine(_dir, "w.db"), TimeSpan.FromDays(30), null, false)
        {
            WallClock = new Aio.Jobs.LoopWallClock(EventLoop.GetRunningLoop(), Start.AddSeconds(600)),
        };
        var monitor = new WatchMonitor(settings, new ScriptedProbe(Answer), new ListLogger());
        await monitor.OpenAsync();
        var dashboard = new WatchDashboard(monitor, settings, settings.WallClock, new ListLogger(), TimeSpan.Zero);
        await using (var client = new TestClient(dashboard.Application))
        {
            await monitor.RoundAsync();   // round 20
            using JsonDocument doc = JsonDocument.Parse((await client.GetAsync($"/api/checks?url={Uri.EscapeDataString(A)}&since=1h")).Body);
            Assert.Equal([Ms(0), Ms(1), Ms(2), Ms(20)], doc.RootElement.GetProperty("checks").EnumerateArray().Select(c => c.GetProperty("t").GetInt64()));
        }
        await monitor.CloseAsync();
    });

    [Theory]
    [InlineData("/api/checks?since=yesterday", 400, "since: 'yesterday' is not a time; write an ISO 8601 time (2026-12-03T14:00:00Z), Unix milliseconds, or a duration ago (15m, 1h, 7d).")]
    [InlineData("/api/checks?until=12:00", 400, "until: '12:00' is not a time; write an ISO 8601 time (2026-12-03T14:00:00Z), Unix milliseconds, or a duration ago (15m, 1h, 7d).")]
    [InlineData("/api/checks?limit=0", 400, "limit: '0' is not a whole number from 1 to 100000.")]
    [InlineData("/api/checks?url=http%3A%2F%2Fother.test%2F", 404, "'http://other.test/' is not watched by this aio watch; the watched URLs are listed by /api/uptime.")]
    [InlineData("/api/uptime?since=-1h", 400, "since: '-1h' is not a time; write an ISO 8601 time (2026-12-03T14:00:00Z), Unix milliseconds, or a duration ago (15m, 1h, 7d).")]
    [InlineData("/api/events?after=soon", 400, "after: 'soon' is not Unix milliseconds (the cursor of /api/checks).")]
    public void Api_BadParameter_AnswersAJsonErrorThatSaysWhatToWrite(string target, int status, string message) => AioTest.Run(async () =>
    {
        await using Rig rig = await OpenAsync(1);
        TestResponse r = await rig.Client.GetAsync(target);
        Assert.Equal((status, "application/json; charset=utf-8", JsonSerializer.Serialize(new { error = message })),
            (r.Status, r.Header("Content-Type"), r.Text));
    });

    [Fact]
    public void ApiUptime_EveryWatchedUrlInOrder_WithItsUptimeAndState() => AioTest.Run(async () =>
    {
        await using Rig rig = await OpenAsync(4);   // b down at rounds 2 and 3
        TestResponse r = await rig.Client.GetAsync("/api/uptime");
        Assert.Equal("no-store", r.Header("Cache-Control"));
        Assert.Equal(
            $"{{\"from\":\"{Start.AddSeconds(120).AddDays(-1).UtcDateTime:yyyy-MM-ddTHH:mm:ss.fff}Z\",\"to\":\"{Start.AddSeconds(120).AddMilliseconds(1).UtcDateTime:yyyy-MM-ddTHH:mm:ss.fff}Z\",\"targets\":[" +
            $"{{\"url\":\"{A}\",\"checks\":4,\"up\":4,\"uptime_pct\":100,\"mean_ms\":11.5,\"p95_ms\":13,\"last_at\":\"{Iso(3)}\",\"state\":\"up\"}}," +
            $"{{\"url\":\"{B}\",\"checks\":4,\"up\":2,\"uptime_pct\":50,\"mean_ms\":20,\"p95_ms\":20,\"last_at\":\"{Iso(3)}\",\"state\":\"down\"}}]}}",
            r.Text);
        using JsonDocument late = JsonDocument.Parse((await rig.Client.GetAsync("/api/uptime?since=30s")).Body);   // round 3 only
        Assert.Equal([(A, 1, "up"), (B, 0, "down")], late.RootElement.GetProperty("targets").EnumerateArray()
            .Select(t => (t.GetProperty("url").GetString(), t.GetProperty("up").GetInt32(), t.GetProperty("state").GetString())));
    });

    [Fact]
    public void Assets_EmbeddedServedWithTypeETagAndSecurityHeaders_304WhenCached() => AioTest.Run(async () =>
    {
        await using Rig rig = await OpenAsync(0);
        Assert.Equal(["dashboard.css", "dashboard.js", "index.html", "uPlot.LICENSE", "uPlot.iife.min.js", "uPlot.min.css"],
            WatchDashboard.AssetNames.Order(StringComparer.Ordinal));
        TestResponse page = await rig.Client.GetAsync("/");
        Assert.Equal((200, "text/html; charset=utf-8", "no-cache", "nosniff", "no-referrer"),
            (page.Status, page.Header("Content-Type"), page.Header("Cache-Control"), page.Header("X-Content-Type-Options"), page.Header("Referrer-Policy")));
        Assert.Equal("default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'", page.Header("Content-Security-Policy"));
        // Every asset the page names is served, with its type; none from another origin.
        string[] all = [.. System.Text.RegularExpressions.Regex.Matches(page.Text, "(?:src|href)=\"([^\"]+)\"").Select(m => m.Groups[1].Value)];
        Assert.Equal("data:,", all[0]);   // the icon: none (no request for /favicon.ico)
        string[] refs = all[1..];
        Assert.Equal(["assets/uPlot.min.css", "assets/dashboard.css", "assets/uPlot.iife.min.js", "assets/dashboard.js", "assets/uPlot.LICENSE"], refs);
        var types = new List<string?>();
        foreach (string asset in refs)
        {
            TestResponse r = await rig.Client.GetAsync("/" + asset);
            Assert.Equal(200, r.Status);
            types.Add(r.Header("Content-Type"));
        }
        Assert.Equal(["text/css; charset=utf-8", "text/css; charset=utf-8", "text/javascript; charset=utf-8", "text/javascript; charset=utf-8", "text/plain; charset=utf-8"], types);
        TestResponse js = await rig.Client.GetAsync("/assets/dashboard.js");
        TestResponse again = await rig.Client.GetAsync("/assets/dashboard.js", ("If-None-Match", js.Header("ETag")!));
        Assert.Equal((304, 0, js.Header("ETag")), (again.Status, again.Body.Length, again.Header("ETag")));
        Assert.Equal(404, (await rig.Client.GetAsync("/assets/../Aio.Cli.dll")).Status);
        Assert.Equal(404, (await rig.Client.GetAsync("/assets/nothing.js")).Status);
    });

    [Fact]
    public void LoopbackOnly_OtherHostName_Answered421_LoopbackNamesServed() => AioTest.Run(async () =>
    {
        // A page of another site that rebinds its name to 127.0.0.1 sends its own name as Host: refused.
        await using Rig rig = await OpenAsync(1);
        var dashboard = new WatchDashboard(rig.Monitor, new WatchSettings([A, B], TimeSpan.FromSeconds(30), HttpMethod.Head, TimeSpan.FromSeconds(10), "unused.db", TimeSpan.FromDays(1), null, false),
            TimeProvider.System, new ListLogger(), TimeSpan.Zero, loopbackOnly: true);
        await using var client = new TestClient(dashboard.Application);
        var seen = new List<string>();
        foreach (string host in new[] { "evil.test", "evil.test:8080", "127.0.0.1:8080", "localhost:8080", "[::1]:8080", "127.0.0.1.evil.test" })
        {
            TestConnection c = client.Connect();
            c.Send($"GET /api/uptime HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
            TestResponse r = await c.ReadResponseAsync();
            seen.Add($"{host} {r.Status}");
        }
        Assert.Equal(["evil.test 421", "evil.test:8080 421", "127.0.0.1:8080 200", "localhost:8080 200", "[::1]:8080 200", "127.0.0.1.evil.test 421"], seen);
        Assert.True(new DashboardEndpoint("127.0.0.1", 1).IsLoopback && new DashboardEndpoint("::1", 1).IsLoopback && new DashboardEndpoint("localhost", 1).IsLoopback);
        Assert.False(new DashboardEndpoint("0.0.0.0", 1).IsLoopback);
    });

    [Fact]
    public void Feed_NewRound_ArrivesLive_ThenByeAndTheEndOfTheStreamAtShutdown() => AioTest.Run(async () =>
    {
        Rig rig = await OpenAsync(2);
        try
        {
            TestConnection c = rig.Client.Connect();
            c.Send($"GET /api/events?after={Ms(1)} HTTP/1.1\r\nHost: a\r\n\r\n");
            await Sleep(30);
            Assert.Equal(Hello, Body(c.Peek()));
            Assert.Equal(1, rig.Dashboard.Subscribers);
            await rig.Monitor.RoundAsync();   // round 3 (b goes down: a transition too)
            await Sleep(1);
            Assert.Equal(Hello + $"id: {Ms(3)}\nevent: round\ndata: {RoundJson(3)}\n\n" +
                $"event: transition\ndata: {{\"url\":\"{B}\",\"at\":\"{Iso(3)}\",\"state\":\"down\",\"previous\":\"up\",\"status\":503,\"error\":\"503 Service Unavailable\"}}\n\n",
                Body(c.Peek()));
            await rig.Client.ShutdownAsync(2);
            string raw = await c.ReadToEndAsync();
            Assert.EndsWith("event: bye\ndata: {\"reason\":\"aio watch is stopping\"}\n\n<end>", Body(raw), StringComparison.Ordinal);
            Assert.Equal(0, rig.Dashboard.Subscribers);
        }
        finally
        {
            await rig.DisposeAsync();
        }
    });

    [Fact]
    public void Feed_RoundPublishedJustBeforeTheShutdown_IsSentBeforeBye() => AioTest.Run(async () =>
    {
        // The stop comes right after the last round's write: the page still gets that round, then bye.
        Rig rig = await OpenAsync(1);
        try
        {
            TestConnection c = rig.Client.Connect();
            c.Send($"GET /api/events?after={Ms(0)} HTTP/1.1\r\nHost: a\r\n\r\n");
            await Sleep(30);
            await rig.Monitor.RoundAsync();   // round 2 and b's transition, queued for the page
            await rig.Client.ShutdownAsync(2);   // before the page's stream task ran again
            string body = Body(await c.ReadToEndAsync());
            Assert.Equal(Hello + $"id: {Ms(2)}\nevent: round\ndata: {RoundJson(2)}\n\n" +
                $"event: transition\ndata: {{\"url\":\"{B}\",\"at\":\"{Iso(2)}\",\"state\":\"down\",\"previous\":\"up\",\"status\":503,\"error\":\"503 Service Unavailable\"}}\n\n" +
                $"event: bye\ndata: {{\"reason\":\"aio watch is stopping\"}}\n\n<end>", body);
        }
        finally
        {
            await rig.DisposeAsync();
        }
    });

    [Fact]
    public void Feed_ReconnectWithLastEventId_GetsTheMissedRoundsFromTheFile_ThenLiveOnes_NoDuplicates() => AioTest.Run(async () =>
    {
        await using Rig rig = await OpenAsync(4);
        TestConnection c = rig.Client.Connect();
        // The page got round 1, then lost the connection; EventSource reconnects with Last-Event-ID (over ?after).
        c.Send($"GET /api/events?after={Ms(0)} HTTP/1.1\r\nHost: a\r\nLast-Event-ID: {Ms(1)}\r\n\r\n");
        await Sleep(30);
        await rig.Monitor.RoundAsync();   // round 5, live
        await Sleep(1);
        string body = Body(c.Peek());
        Assert.StartsWith(Hello, body, StringComparison.Ordinal);
        Assert.Equal([Ms(2), Ms(3), Ms(5)], System.Text.RegularExpressions.Regex.Matches(body, @"id: (\d+)\n").Select(m => long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)));
        Assert.Contains($"id: {Ms(3)}\nevent: round\ndata: {RoundJson(3)}\n\n", body, StringComparison.Ordinal);
        c.Abort();
        await Sleep(1);
        Assert.Equal(0, rig.Dashboard.Subscribers);
    });

    [Fact]
    public void Feed_LiveRoundAtOrBeforeWhatThePageHas_IsNotSentAgain() => AioTest.Run(async () =>
    {
        // A round written while the backlog is read is both in the file and in the queue; the page gets it once. Here
        // the page already has everything up to round 5 (its Last-Event-ID) when round 5 is published live.
        await using Rig rig = await OpenAsync(4);
        TestConnection c = rig.Client.Connect();
        c.Send($"GET /api/events HTTP/1.1\r\nHost: a\r\nLast-Event-ID: {Ms(5)}\r\n\r\n");
        await Sleep(30);
        await rig.Monitor.RoundAsync();   // round 5
        await Sleep(30);
        await rig.Monitor.RoundAsync();   // round 6
        await Sleep(1);
        Assert.Equal([Ms(6)], System.Text.RegularExpressions.Regex.Matches(Body(c.Peek()), @"id: (\d+)\n").Select(m => long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)));
        c.Abort();
        await Sleep(1);
    });

    [Fact]
    public void Feed_PageThatDoesNotRead_IsCutOffWhenItsQueueIsFull_TheWatchGoesOn() => AioTest.Run(async () =>
    {
        await using Rig rig = await OpenAsync(0);
        TestConnection slow = rig.Client.Connect();
        slow.Send("GET /api/events HTTP/1.1\r\nHost: a\r\n\r\n");
        await Sleep(1);
        slow.PauseReading();
        int rounds = 0;
        while (rig.Dashboard.Subscribers == 1 && rounds < 5000)
        {
            await rig.Monitor.RoundAsync();
            await Sleep(30);
            rounds++;
        }
        Assert.Equal(0, rig.Dashboard.Subscribers);
        Assert.InRange(rounds, WatchDashboard.FeedQueueSize + 1, 4999);
        Assert.Equal(2L * rounds, rig.Monitor.Written);
        slow.ResumeReading();
        for (int i = 0; i < 100 && !Body(slow.Peek()).EndsWith("<end>", StringComparison.Ordinal); i++)
        {
            await Sleep(0.1);
        }
        Assert.EndsWith("<end>", Body(slow.Peek()), StringComparison.Ordinal);   // the stream ended: the browser reconnects and resumes
    });

    [Theory]
    [InlineData("127.0.0.1:8080", "127.0.0.1", 8080, "http://127.0.0.1:8080/")]
    [InlineData("localhost:0", "localhost", 0, "http://localhost:0/")]
    [InlineData("[::1]:9000", "::1", 9000, "http://[::1]:9000/")]
    [InlineData("0.0.0.0:80", "0.0.0.0", 80, "http://0.0.0.0:80/")]
    public void DashboardEndpoint_HostPort_Parsed(string text, string host, int port, string url)
    {
        DashboardEndpoint? e = DashboardEndpoint.TryParse(text, out string error);
        Assert.Equal((host, port, url, ""), (e?.Host, e?.Port ?? -1, e?.Url(e.Port), error));
    }

    [Theory]
    [InlineData("8080")]
    [InlineData(":8080")]
    [InlineData("::1:8080")]
    [InlineData("127.0.0.1:http")]
    [InlineData("127.0.0.1:70000")]
    [InlineData("127.0.0.1:-1")]
    public void DashboardCommand_BadEndpoint_UsageErrorExit2(string text)
    {
        CliResult r = CliHarness.Run(["watch", "--dashboard", text, "http://127.0.0.1:1/"]);
        Assert.Equal(2, r.ExitCode);
        Assert.StartsWith($"aio: --dashboard: '{text}' is not HOST:PORT; write it as 127.0.0.1:8080 (this machine only), [::1]:8080, or 0.0.0.0:8080 to be reachable from other machines.{Environment.NewLine}", r.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("90s", "2026-01-01T01:58:30Z")]
    [InlineData("1h", "2026-01-01T01:00:00Z")]
    [InlineData("1767225600000", "2026-01-01T00:00:00Z")]
    [InlineData("2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z")]
    [InlineData("2026-01-01T01:00:00+01:00", "2026-01-01T00:00:00Z")]
    [InlineData(null, "2026-01-01T02:00:00Z")]
    public void TryParseTime_IsoMillisecondsOrDurationAgo(string? text, string expected)
    {
        Assert.True(WatchDashboard.TryParseTime(text, "since", Start.AddHours(2), out DateTimeOffset value, out string? error));
        Assert.Equal((expected, (string?)null), (value.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture), error));
    }
}
