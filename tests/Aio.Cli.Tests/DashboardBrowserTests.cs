using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Aio.Cli.Dashboard;
using Aio.Cli.Watch;
using Microsoft.Data.Sqlite;
using PuppeteerSharp;
using Spectre.Console;

namespace Aio.Cli.Tests;

/// <summary>
/// The dashboard and the tool's terminal output in the real world: headless Chromium (Debian's chromium, see
/// Aio.TestUtilities.Browser) loads the dashboard and follows a new round; the watch command serves the feed and ends it
/// at Ctrl+C; fetch runs in a pseudo-terminal (util-linux <c>script</c>). The two screenshot tests save PNGs into
/// <c>screenshots/</c> of the test's output directory (the path is printed), and also into the directory named by
/// <c>AIO_SCREENSHOTS_TO</c> when it is set: docs/images/regenerate.sh does that for docs/aio-tool.md.
/// </summary>
/// <summary>
/// Chromium and real processes load the 2-core machine for seconds: these run alone, not beside the timing-sensitive
/// tests of other classes (fetch's Ctrl+C test measures a fraction of a second).
/// </summary>
[CollectionDefinition(nameof(RunsAlone), DisableParallelization = true)]
public sealed class RunsAlone;

[Collection(nameof(RunsAlone))]
public sealed class DashboardBrowserTests : IClassFixture<FetchCommandTests.Server>, IDisposable
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 3, 13, 0, 0, TimeSpan.Zero);
    private const string Local = "http://127.0.0.1:8080/health", Example = "https://example.org/",
        Tricky = "https://status.example.net/?q=<b>not bold</b>&x=\"y\"";
    private readonly LocalServer _server;
    private readonly Xunit.Abstractions.ITestOutputHelper _output;
    private readonly string _dir = Directory.CreateTempSubdirectory("aio-dash-browser-").FullName;

    public DashboardBrowserTests(FetchCommandTests.Server server, Xunit.Abstractions.ITestOutputHelper output)
    {
        _server = server.Local;
        _output = output;
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
    }

    /// <summary>Saves a screenshot under the test's output directory (and AIO_SCREENSHOTS_TO), prints where.</summary>
    private string SaveScreenshot(byte[] png, string name)
    {
        string dir = Path.Combine(AppContext.BaseDirectory, "screenshots");
        Directory.CreateDirectory(dir);
        string path = Path.Combine(dir, name);
        File.WriteAllBytes(path, png);
        _output.WriteLine($"screenshot: {path}");
        if (Environment.GetEnvironmentVariable("AIO_SCREENSHOTS_TO") is { Length: > 0 } docs)
        {
            File.WriteAllBytes(Path.Combine(docs, name), png);
            _output.WriteLine($"screenshot: {Path.Combine(docs, name)}");
        }
        return path;
    }

    private static void AssertPng(byte[] png, int minWidth, int minHeight)
    {
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], png[..4]);
        int width = System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(16)), height = System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(20));
        Assert.True(width >= minWidth && height >= minHeight, $"the screenshot is {width}×{height}, expected at least {minWidth}×{minHeight}");
    }

    /// <summary>
    /// Latencies that look like a day at work: the local service fast and steady, example.org slower with waves, the
    /// third URL down from round 60 to 67.
    /// </summary>
    private static CheckRecord Answer(string url, DateTimeOffset at)
    {
        int k = (int)Math.Round((at - T0).TotalSeconds / 30);
        double wobble = ((k * 37) % 11) / 11.0;
        return url switch
        {
            Local => new CheckRecord(url, at, true, 200, 2.2 + 0.6 * Math.Sin(k / 6.0) + 0.5 * wobble, null),
            Example => new CheckRecord(url, at, true, 200, 85 + 18 * Math.Sin(k / 9.0) + 14 * wobble, null),
            _ when k is >= 60 and < 68 => new CheckRecord(url, at, false, 503, 12, "503 Service Unavailable"),
            _ => new CheckRecord(url, at, true, 200, 140 + 35 * Math.Sin(k / 5.0) + 20 * wobble, null),
        };
    }

    private sealed record Snapshot(string Status, int Rounds, string[] Points, string[] Titles, string[] Badges, string[] Rows, int Markup, int Canvases);

    private const string SnapshotScript = """
        () => JSON.stringify({
          status: aioDashboard.status,
          rounds: aioDashboard.rounds,
          points: [...document.querySelectorAll('#charts .card')].map(c => `${c.dataset.url} ${c.dataset.points}`),
          titles: [...document.querySelectorAll('#charts .card h2')].map(h => h.textContent),
          badges: [...document.querySelectorAll('#charts .card .badge')].map(b => b.textContent),
          rows: [...document.querySelectorAll('#uptime tbody tr')].map(tr => [...tr.children].slice(0, 4).map(td => td.textContent).join(' | ')),
          markup: document.querySelectorAll('main b, main script').length,
          canvases: document.querySelectorAll('#charts canvas').length,
        })
        """;

    private static async Task<Snapshot> SnapshotAsync(IPage page) =>
        JsonSerializer.Deserialize<Snapshot>(await page.EvaluateFunctionAsync<string>(SnapshotScript), JsonSerializerOptions.Web)!;

    [Fact]
    public void Dashboard_InChromium_ChartAndTableFollowANewRound_Screenshot() => AioTest.Run(async () =>
    {
        // A history of 100 rounds 30 s apart, written through the monitor as a watch would, then the dashboard.
        var clock = new ManualWallClock(T0);
        var settings = new WatchSettings([Local, Example, Tricky], TimeSpan.FromSeconds(30), HttpMethod.Head, TimeSpan.FromSeconds(10),
            Path.Combine(_dir, "w.db"), TimeSpan.FromDays(30), null, false) { WallClock = clock };
        var monitor = new WatchMonitor(settings, new ScriptedProbe(Answer), new ListLogger());
        await monitor.OpenAsync();
        IBrowser? browser = null;
        try
        {
            for (int k = 0; k < 100; k++)
            {
                clock.Now = T0.AddSeconds(30 * k);
                await monitor.RoundAsync();
            }
            clock.Now = T0.AddSeconds(30 * 99 + 5);
            var dashboard = new WatchDashboard(monitor, settings, clock, new ListLogger());
            await using HttpServer server = await dashboard.Application.StartAsync("127.0.0.1", 0);
            string url = $"http://127.0.0.1:{server.Port}/";
            var problems = new List<string>();

            // The browser's API is thread-pool async: drive it from an executor thread while the loop serves.
            (IPage page, Snapshot before) = await ToThread(() => Task.Run(async () =>
            {
                browser = await TestUtilities.Browser.LaunchAsync(TimeSpan.FromSeconds(20));
                IPage p = await browser.NewPageAsync();
                p.Console += (_, e) =>
                {
                    if (e.Message.Type == ConsoleType.Error)
                    {
                        lock (problems)
                        {
                            problems.Add($"console: {e.Message.Text}");
                        }
                    }
                };
                p.PageError += (_, e) =>
                {
                    lock (problems)
                    {
                        problems.Add($"page error: {e.Message}");
                    }
                };
                await p.EmulateTimezoneAsync("UTC");
                await p.SetViewportAsync(new ViewPortOptions { Width = 1280, Height = 900 });
                await p.GoToAsync(url, new NavigationOptions { Timeout = 15000 });
                await p.WaitForFunctionAsync("() => window.aioDashboard && aioDashboard.loaded && aioDashboard.status === 'live' && aioDashboard.uptimeLoads >= 1",
                    new WaitForFunctionOptions { Timeout = 15000 });
                return (p, await SnapshotAsync(p));
            }).GetAwaiter().GetResult());

            Assert.Equal(("live", 0, 0, 3), (before.Status, before.Rounds, before.Markup, before.Canvases));
            Assert.Equal([$"{Local} 100", $"{Example} 100", $"{Tricky} 100"], before.Points);
            Assert.Equal([Local, Example, Tricky], before.Titles);   // the URL with markup in it is text, not HTML
            Assert.Equal(["up", "up", "up"], before.Badges);
            Assert.Equal([$"{Local} | up | 100 | 100.00%", $"{Example} | up | 100 | 100.00%", $"{Tricky} | up | 100 | 92.00%"], before.Rows);

            // A new round lands: the feed brings it to the page, the charts get a point, the table is reloaded.
            clock.Now = T0.AddSeconds(30 * 100);
            await monitor.RoundAsync();
            Snapshot after = await ToThread(() => Task.Run(async () =>
            {
                await page.WaitForFunctionAsync("() => aioDashboard.rounds === 1 && document.querySelector('#uptime tbody tr td.checks').textContent === '101'",
                    new WaitForFunctionOptions { Timeout = 15000 });
                await page.Mouse.MoveAsync(900, 260);   // a cursor on the chart, for the picture
                SaveScreenshot(await page.ScreenshotDataAsync(new ScreenshotOptions { FullPage = true }), "aio-dashboard.png");
                return await SnapshotAsync(page);
            }).GetAwaiter().GetResult());
            Assert.Equal([$"{Local} 101", $"{Example} 101", $"{Tricky} 101"], after.Points);
            Assert.Equal([$"{Local} | up | 101 | 100.00%", $"{Example} | up | 101 | 100.00%", $"{Tricky} | up | 101 | 92.08%"], after.Rows);
            Assert.Equal(("live", 1, 0, 3), (after.Status, after.Rounds, after.Markup, after.Canvases));
            Assert.Empty(problems);   // no script error, no refused resource (the Content-Security-Policy lets everything the page needs load)
            byte[] png = File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "screenshots", "aio-dashboard.png"));
            AssertPng(png, 1280, 900);
        }
        finally
        {
            TestUtilities.Browser.Kill(browser);
            await monitor.CloseAsync();
        }
    }, virtualTime: false);

    [Fact]
    public async Task WatchCommand_Dashboard_ServesTheLiveFeed_CtrlCEndsItWithBye_Exit0()
    {
        string db = Path.Combine(_dir, "cmd.db");
        var feed = new StringBuilder();
        Task? reader = null;
        CliResult r = CliHarness.Run(["watch", "--every", "200ms", "--db", db, "--dashboard", "127.0.0.1:0", _server.Url("/ok")], interruptWhen: (_, console) =>
        {
            if (reader is null)
            {
                Match m = Regex.Match(console, @"dashboard on (http://127\.0\.0\.1:\d+/)");
                if (m.Success)
                {
                    reader = Task.Run(() => ReadFeedAsync(m.Groups[1].Value + "api/events", feed));
                }
                return false;
            }
            lock (feed)
            {
                return Regex.Count(feed.ToString(), "event: round") >= 2;   // two rounds seen live: Ctrl+C
            }
        });
        Assert.NotNull(reader);
        await reader.WaitAsync(TimeSpan.FromSeconds(20));   // the server ended the stream after the stop
        Assert.Equal(0, r.ExitCode);
        string[] lines = r.Console.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Matches(@"^dashboard on http://127\.0\.0\.1:\d+/$", lines[0]);
        Assert.StartsWith("watching 1 URL(s) every 200ms", lines[1], StringComparison.Ordinal);
        string text = feed.ToString();
        Assert.StartsWith("event: hello\nretry: 2000\ndata: {\"every_s\":0.2,\"urls\":[", text, StringComparison.Ordinal);
        Assert.EndsWith("event: bye\ndata: {\"reason\":\"aio watch is stopping\"}\n\n", text, StringComparison.Ordinal);   // and then the end of the stream
        using (WatchStore store = WatchStore.Open(db, TimeSpan.FromSeconds(1)))   // the database was closed cleanly, the rows are there
        {
            store.EnsureTargets([_server.Url("/ok")], DateTimeOffset.UnixEpoch);
            Assert.True(store.Checks(null, DateTimeOffset.UnixEpoch, DateTimeOffset.UtcNow.AddHours(1)).Count >= 2);
        }
    }

    [Fact]
    public void WatchCommand_DashboardWithJson_PrintsItsAddressAsAJsonEvent()
    {
        CliResult r = CliHarness.Run(["watch", "--json", "--every", "1h", "--db", Path.Combine(_dir, "json.db"), "--dashboard", "127.0.0.1:0", _server.Url("/ok")],
            interruptWhen: (output, _) => output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length >= 2);   // the address and the first check
        Assert.Equal(0, r.ExitCode);
        string first = r.Out.Split('\n')[0];
        Assert.Matches(@"^\{""event"":""dashboard"",""url"":""http://127\.0\.0\.1:\d+/""\}$", first);
        Assert.Equal("", r.Console);
    }

    /// <summary>Reads the event stream until the server ends it (the body's end, then the connection's).</summary>
    private static async Task ReadFeedAsync(string url, StringBuilder into)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        using HttpResponseMessage response = await http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead);
        await using Stream body = await response.Content.ReadAsStreamAsync();
        byte[] buffer = new byte[4096];
        int n;
        while ((n = await body.ReadAsync(buffer)) > 0)
        {
            lock (into)
            {
                into.Append(Encoding.UTF8.GetString(buffer, 0, n));
            }
        }
    }

    [Fact]
    public void WatchCommand_DashboardPortTaken_SaysSoExit1()
    {
        using var taken = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        taken.Start();
        int port = ((System.Net.IPEndPoint)taken.LocalEndpoint).Port;
        CliResult r = CliHarness.Run(["watch", "--db", Path.Combine(_dir, "taken.db"), "--dashboard", $"127.0.0.1:{port}", _server.Url("/ok")]);
        Assert.Equal(1, r.ExitCode);
        Assert.StartsWith($"aio: --dashboard: cannot listen on 127.0.0.1:{port} (", r.Error, StringComparison.Ordinal);
        Assert.EndsWith($"); pick another port or address.{Environment.NewLine}", r.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Fetch_InAPseudoTerminal_DrawsTheProgressBarThenTheColouredTable()
    {
        // util-linux `script` runs the real tool on a pseudo-terminal: the tool sees a terminal (not a redirect) as
        // a user's shell would, so this covers CliContext.ForProcess's detection as well as the rendering.
        string dll = ExampleProgram.Find("Aio.Cli", "src");
        string ok = _server.Url("/ok"), missing = _server.Url("/missing"), redirect = _server.Url("/redirect");
        string command = $"stty cols 120 rows 40; exec '{ExampleProgram.Dotnet}' '{dll}' fetch {ok} {missing} {redirect}";
        var start = new ProcessStartInfo("script", ["-qefc", command, "/dev/null"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
        };
        start.Environment["TERM"] = "xterm-256color";
        start.Environment.Remove("NO_COLOR");
        start.Environment.Remove("CI");
        using var process = Process.Start(start)!;
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        using (var limit = new CancellationTokenSource(TimeSpan.FromSeconds(60)))
        {
            await process.WaitForExitAsync(limit.Token);
        }
        string screen = await stdout;
        _output.WriteLine(screen.Replace("\u001b", "\\e", StringComparison.Ordinal));
        string errors = await stderr;
        Assert.True(process.ExitCode == 1, $"exit code {process.ExitCode}; stderr: {errors}");   // /missing failed

        // The progress bar: drawn while the requests run (the live display hides the cursor, then shows it again).
        int hide = screen.IndexOf("\u001b[?25l", StringComparison.Ordinal), show = screen.LastIndexOf("\u001b[?25h", StringComparison.Ordinal);
        Assert.True(hide >= 0 && show > hide, "the live display did not hide and restore the cursor");
        string live = screen[hide..show];
        Assert.Contains("fetching 3 URL(s)", live, StringComparison.Ordinal);
        Assert.Contains("━", live, StringComparison.Ordinal);
        // Then the table, after the live display, with rounded borders, one row per URL, statuses coloured.
        string table = Regex.Replace(screen[show..], @"\u001b\[[0-9;?]*[A-Za-z]", "");
        string[] rows = table.Split(["\r\n", "\n"], StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains(rows, l => l.StartsWith('╭'));
        Assert.Contains(rows, l => Regex.IsMatch(l, @"^│ url\s+│ status │ bytes │\s+time │ error\s+│$"));
        Assert.Contains(rows, l => Regex.IsMatch(l, $@"^│ {Regex.Escape(ok)}\s+│\s+200 │\s+5 │\s+[\d.]+ ms │\s+│$"));
        Assert.Contains(rows, l => Regex.IsMatch(l, $@"^│ {Regex.Escape(missing)}\s+│\s+404 │\s+2 │\s+[\d.]+ ms │ 404 Not Found\s+│$"));
        Assert.Contains(rows, l => Regex.IsMatch(l, $@"^│ {Regex.Escape(redirect)}\s+│\s+200 │\s+5 │\s+[\d.]+ ms │\s+│$"));
        Assert.Contains(rows, l => l.StartsWith("3 request(s) in ", StringComparison.Ordinal));
        Assert.Matches(@"\u001b\[[0-9;]*m200\u001b\[0?m", screen[show..]);   // 200 in a colour (green), then reset
    }

    [Fact]
    public async Task FetchOutput_RenderedInChromium_Screenshot()
    {
        // Spectre's recorder keeps what the tool wrote, with its colours, and exports it as HTML; Chromium draws it.
        var writer = new StringWriter();
        IAnsiConsole console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.Yes,
            ColorSystem = ColorSystemSupport.TrueColor,
            Interactive = InteractionSupport.No,
            Out = new AnsiConsoleOutput(writer),
        });
        console.Profile.Width = 110;
        var recorder = new Recorder(console);
        string[] urls = [_server.Url("/ok"), _server.Url("/redirect"), _server.Url("/fail"), _server.Url("/missing"), _server.Url("/slow"), "http://127.0.0.1:1/"];
        Assert.Equal(0, CliHarness.Run(["fetch", _server.Url("/ok")]).ExitCode);   // a first run warms the JIT up: the picture's times are a warm tool's
        var ctx = new CliContext { Console = recorder, Out = new StringWriter(), Error = new StringWriter() };
        int code = AioCli.Invoke(["fetch", "--timeout", "2s", .. urls], ctx);
        Assert.Equal(1, code);
        string html = recorder.ExportHtml();
        string text = System.Net.WebUtility.HtmlDecode(Regex.Replace(html, "<[^>]+>", "")).Replace('\u00a0', ' ');
        Assert.Contains("│ 404 Not Found ", text, StringComparison.Ordinal);
        Assert.Contains("6 request(s) in ", text, StringComparison.Ordinal);
        // A terminal's palette: the standard green and red of the export, as a dark theme shows them.
        html = html.Replace("color: #008000", "color: #3fb950", StringComparison.Ordinal).Replace("color: #FF0000", "color: #f85149", StringComparison.Ordinal);
        string prompt = System.Net.WebUtility.HtmlEncode($"aio fetch --timeout 2s {string.Join(" \\\n    ", urls)}");
        string page = $$"""
            <!doctype html><meta charset="utf-8">
            <style>
              body { margin: 0; background: #fff; }
              .window { display: inline-block; margin: 0; background: #1e1f29; border-radius: 8px; overflow: hidden; }
              .bar { height: 26px; background: #2e303e; padding: 0 10px; display: flex; align-items: center; gap: 7px; }
              .dot { width: 11px; height: 11px; border-radius: 50%; }
              .term { color: #e6e6e6; padding: 12px 18px 16px; font: 14px/1.16 "DejaVu Sans Mono", monospace; font-variant-ligatures: none; }
              .term pre { margin: 0 0 6px !important; font: inherit !important; white-space: pre; }
              .prompt { color: #7ee787; }
            </style>
            <div class="window" id="shot">
              <div class="bar"><span class="dot" style="background:#ff5f57"></span><span class="dot" style="background:#febc2e"></span><span class="dot" style="background:#28c840"></span></div>
              <div class="term"><pre><span class="prompt">$</span> {{prompt}}</pre>{{html}}</div>
            </div>
            """;
        byte[] png;
        IBrowser? browser = null;
        try
        {
            browser = await TestUtilities.Browser.LaunchAsync(TimeSpan.FromSeconds(20));
            IPage p = await browser.NewPageAsync();
            await p.SetViewportAsync(new ViewPortOptions { Width = 1200, Height = 600, DeviceScaleFactor = 2 });
            await p.SetContentAsync(page);
            IElementHandle shot = await p.QuerySelectorAsync("#shot");
            png = await shot.ScreenshotDataAsync();
        }
        finally
        {
            TestUtilities.Browser.Kill(browser);
        }
        AssertPng(png, 700, 200);
        string saved = SaveScreenshot(png, "aio-fetch-terminal.png");
        File.WriteAllText(Path.ChangeExtension(saved, ".html"), page);   // what was drawn, next to the picture
    }
}
