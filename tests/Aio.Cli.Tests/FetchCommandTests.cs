using System.Text.Json;

using Aio.Cli.Fetch;

namespace Aio.Cli.Tests;

/// <summary><c>aio fetch</c> against a local Aio.Http server with fast, failing, redirecting and slow routes.</summary>
public sealed class FetchCommandTests : IClassFixture<FetchCommandTests.Server>
{
    public sealed class Server : IDisposable
    {
        public LocalServer Local { get; } = new();

        public void Dispose() => Local.Dispose();
    }

    private readonly LocalServer _server;

    public FetchCommandTests(Server server) => _server = server.Local;

    private static List<(string Url, int Status, long Bytes, bool Ok, string? Error)> Rows(JsonElement root) =>
        [.. root.GetProperty("results").EnumerateArray().Select(e => (
            e.GetProperty("url").GetString()!, e.GetProperty("status").GetInt32(), e.GetProperty("bytes").GetInt64(),
            e.GetProperty("ok").GetBoolean(), e.GetProperty("error").GetString()))];

    [Fact]
    public void Fetch_MixedRoutes_JsonListsEachOutcome_Exit1()
    {
        string ok = _server.Url("/ok"), fail = _server.Url("/fail"), redirect = _server.Url("/redirect"), slow = _server.Url("/slow"),
            refused = "http://127.0.0.1:1/x";
        // 2 s: well under /slow's 5 s, and room for a first run's JIT on a loaded CI machine (500 ms once timed out all five).
        CliResult r = CliHarness.Run(["fetch", "--json", "--timeout", "2s", ok, fail, redirect, slow, refused]);
        Assert.Equal(1, r.ExitCode);
        using JsonDocument doc = JsonDocument.Parse(r.Out);
        Assert.Equal(
            [
                (ok, 200, 5L, true, (string?)null),
                (fail, 500, 4L, false, "500 Internal Server Error"),
                (redirect, 200, 5L, true, null),
                (slow, 0, 0L, false, "timeout (Total)"),
                (refused, 0, 0L, false, "connection refused or reset"),
            ],
            Rows(doc.RootElement));
        Assert.Equal(5, doc.RootElement.GetProperty("finished").GetInt32());
        Assert.Equal(2, doc.RootElement.GetProperty("ok").GetInt32());
        Assert.Equal(3, doc.RootElement.GetProperty("failed").GetInt32());
        Assert.False(doc.RootElement.GetProperty("interrupted").GetBoolean());
        Assert.Equal(2, doc.RootElement.GetProperty("latency_ms").GetProperty("count").GetInt32());
    }

    [Fact]
    public void Fetch_AllOk_PrintsTableAndPercentiles_Exit0()
    {
        string path = Path.GetTempFileName();
        try
        {
            File.WriteAllLines(path, ["# three of them", _server.Url("/ok"), "", _server.Url("/redirect"), _server.Url("/ok?x=1")]);
            CliResult r = CliHarness.Run(["fetch", "--file", path, "-c", "2", "--header", "X-Test: 1"]);
            Assert.Equal(0, r.ExitCode);
            string[] lines = r.Console.Split('\n');
            Assert.Contains(lines, l => l.Contains(_server.Url("/redirect"), StringComparison.Ordinal) && l.Contains(" 200 ", StringComparison.Ordinal));
            Assert.Contains(lines, l => l.StartsWith("3 request(s) in ", StringComparison.Ordinal) && l.Contains("3 ok; 15 bytes", StringComparison.Ordinal));
            Assert.Contains(lines, l => l.StartsWith("latency of 3 ok: p50 ", StringComparison.Ordinal) && l.Contains(" p99 ", StringComparison.Ordinal));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Fetch_OnATerminal_ShowsAProgressBarThenTheTable()
    {
        CliResult r = CliHarness.Run(["fetch", _server.Url("/ok"), _server.Url("/missing")], interactive: true);
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("fetching 2 URL(s)", r.Console, StringComparison.Ordinal);
        Assert.Contains("━", r.Console, StringComparison.Ordinal);          // the bar
        Assert.Contains("404 Not Found", r.Console, StringComparison.Ordinal);
        Assert.Contains("\u001b[", r.Console, StringComparison.Ordinal);    // colours on a terminal
    }

    [Fact]
    public void Fetch_NotATerminal_NoProgressNoColours()
    {
        CliResult r = CliHarness.Run(["fetch", _server.Url("/ok")]);
        Assert.Equal(0, r.ExitCode);
        Assert.DoesNotContain("fetching", r.Console, StringComparison.Ordinal);
        Assert.DoesNotContain("\u001b[", r.Console, StringComparison.Ordinal);
    }

    [Fact]
    public void Fetch_MoreRowsThanMaxRows_ShowsFailuresFirstAndSaysHowManyAreHidden()
    {
        CliResult r = CliHarness.Run(["fetch", "--max-rows", "1", _server.Url("/ok"), _server.Url("/fail"), _server.Url("/ok?2")]);
        Assert.Equal(1, r.ExitCode);
        Assert.Contains(_server.Url("/fail"), r.Console, StringComparison.Ordinal);
        Assert.DoesNotContain(_server.Url("/ok?2"), r.Console, StringComparison.Ordinal);
        Assert.Contains("2 more row(s) not shown (--max-rows 1; --json lists all)", r.Console, StringComparison.Ordinal);
    }

    [Fact]
    public void Fetch_CtrlC_StopsTheSlowRequestsAndPrintsWhatFinished_Exit130()
    {
        // Three fast URLs and two that take 5 s; Ctrl+C (Runner.Interrupt, as SIGINT) comes once the fast ones are answered.
        string[] urls = [_server.Url("/ok"), _server.Url("/slow"), _server.Url("/ok?b"), _server.Url("/slow?b"), _server.Url("/redirect")];
        var started = System.Diagnostics.Stopwatch.StartNew();
        int before = _server.Requests;
        System.Diagnostics.Stopwatch? allArrived = null;
        CliResult r = CliHarness.Run(["fetch", "--json", .. urls], interruptWhen: (_, _) =>
        {
            // Every request (the redirect's second hop too) reached the server, and 0.3 s passed for the fast answers.
            allArrived ??= _server.Requests >= before + 6 ? System.Diagnostics.Stopwatch.StartNew() : null;
            return allArrived?.Elapsed > TimeSpan.FromSeconds(0.3);
        });
        Assert.Equal(130, r.ExitCode);
        Assert.True(started.Elapsed < TimeSpan.FromSeconds(4.5), $"the slow requests were not cancelled: {started.Elapsed}");
        using JsonDocument doc = JsonDocument.Parse(r.Out);
        Assert.True(doc.RootElement.GetProperty("interrupted").GetBoolean());
        Assert.Equal(
            [(urls[0], 200, 5L, true, (string?)null), (urls[2], 200, 5L, true, null), (urls[4], 200, 5L, true, null)],
            Rows(doc.RootElement));
    }

    [Fact]
    public void Fetch_1500Urls_JsonListsEveryResultInOrder()
    {
        // More results than the 64 KiB the JSON is written in: the output is streamed, and still one document.
        string path = Path.GetTempFileName();
        try
        {
            string[] urls = [.. Enumerable.Range(0, 1500).Select(i => _server.Url($"/ok?i={i}"))];
            File.WriteAllLines(path, urls);
            CliResult r = CliHarness.Run(["fetch", "--json", "--file", path, "-c", "32", "--per-host", "16"]);
            Assert.Equal(0, r.ExitCode);
            using JsonDocument doc = JsonDocument.Parse(r.Out);
            Assert.Equal(urls.Select(u => (u, 200, 5L, true, (string?)null)), Rows(doc.RootElement));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void LatencySummary_Of_UsesNearestRankPercentiles()
    {
        List<double> values = [.. Enumerable.Range(1, 100).Select(i => (double)i).Reverse()];
        Assert.Equal(new LatencySummary(100, 50, 90, 99, 100), LatencySummary.Of(values));
    }
}
