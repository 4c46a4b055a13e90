// aio fetch: many HTTP requests at once through one ClientSession, on one Aio loop.
//
// Design note. `-c` worker tasks in a TaskGroup take the next URL index from a shared counter (the loop is one
// thread: no lock), so at most `-c` requests are in flight and memory is the URL list plus one small result
// struct per URL: bodies are read in 16 KiB chunks and counted, never kept. The session's own limits (Limit = -c,
// LimitPerHost = --per-host) queue requests per host on the loop. Ctrl+C cancels the main task: the TaskGroup
// cancels the workers (each request is aborted and its connection closed by ClientSession), and the `finally`
// prints what had finished before the CancelledError goes on (exit 130). The progress bar is Spectre's, refreshed
// from a loop task (AutoRefresh off: nothing renders from another thread).
using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Aio.Http;
using Spectre.Console;

namespace Aio.Cli.Fetch;

/// <summary>The settings of one <c>aio fetch</c> run.</summary>
internal sealed record FetchSettings(
    IReadOnlyList<string> Urls,
    int Concurrency,
    int PerHost,
    HttpMethod Method,
    IReadOnlyList<KeyValuePair<string, string>> Headers,
    TimeSpan Timeout,
    bool Json,
    int MaxRows);

/// <summary>One URL's outcome: status (0 if no response), body bytes, seconds from start to the end of the body, error.</summary>
internal readonly record struct FetchResult(int Status, long Bytes, double Seconds, string? Error)
{
    public bool Ok => Error is null && Status is > 0 and < 400;
}

/// <summary>The latency summary of finished requests (nearest-rank percentiles), in seconds.</summary>
internal readonly record struct LatencySummary(int Count, double P50, double P90, double P99, double Max)
{
    public static LatencySummary Of(List<double> seconds)
    {
        if (seconds.Count == 0)
        {
            return default;
        }
        seconds.Sort();
        double At(double p) => seconds[Math.Clamp((int)Math.Ceiling(p * seconds.Count) - 1, 0, seconds.Count - 1)];
        return new LatencySummary(seconds.Count, At(0.50), At(0.90), At(0.99), seconds[^1]);
    }
}

internal static class FetchCommand
{
    public static Command Create(CliContext ctx)
    {
        var urls = new Argument<string[]>("url") { Description = "URLs to fetch (http or https)", Arity = ArgumentArity.ZeroOrMore };
        var file = new Option<FileInfo>("--file", "-f") { Description = "Read URLs from a file, one per line (blank lines and # comments skipped)" };
        var concurrency = new Option<int>("--concurrency", "-c") { Description = "Requests in flight at once", DefaultValueFactory = _ => 64 };
        var perHost = new Option<int>("--per-host") { Description = "Requests in flight to one host at once (0: as many as --concurrency)", DefaultValueFactory = _ => 0 };
        var method = new Option<string>("--method", "-X") { Description = "HTTP method", DefaultValueFactory = _ => "GET" };
        var headers = new Option<string[]>("--header", "-H") { Description = "A request header, 'Name: value' (repeatable)", AllowMultipleArgumentsPerToken = false };
        var timeout = new Option<TimeSpan>("--timeout", "-t") { Description = "Limit for one request, redirects and body included (250ms, 10s, 1m)", DefaultValueFactory = _ => TimeSpan.FromSeconds(30), CustomParser = r => Durations.Parse(r) };
        var maxRows = new Option<int>("--max-rows") { Description = "Rows of the table at most (failures first); --json lists all", DefaultValueFactory = _ => 50 };
        AioCli.AtLeast(concurrency, 1);
        AioCli.AtLeast(perHost, 0);
        AioCli.AtLeast(maxRows, 0);
        method.Validators.Add(r =>
        {
            string m = r.GetValueOrDefault<string>() ?? "";
            if (m.Length == 0 || !m.All(c => char.IsAsciiLetterOrDigit(c) || "!#$%&'*+-.^_`|~".Contains(c)))
            {
                r.AddError($"--method: '{m}' is not an HTTP method name (a token such as GET, HEAD, POST).");
            }
        });
        headers.Validators.Add(r =>
        {
            foreach (string h in r.GetValueOrDefault<string[]>() ?? [])
            {
                int colon = h.IndexOf(':', StringComparison.Ordinal);
                if (colon <= 0 || h[..colon].Trim().Length == 0)
                {
                    r.AddError($"--header: '{h}' is not 'Name: value'.");
                }
            }
        });

        var command = new Command("fetch", "Fetch URLs concurrently; print a table and the latency percentiles (exit 1 if any failed)")
        {
            urls, file, concurrency, perHost, method, headers, timeout, maxRows,
        };
        command.SetAction(parse =>
        {
            var list = new List<string>(parse.GetValue(urls) ?? []);
            if (parse.GetValue(file) is { } f)
            {
                if (!f.Exists)
                {
                    throw new CliException($"--file: {f.FullName} does not exist.", ExitCodes.Usage);
                }
                list.AddRange(File.ReadLines(f.FullName).Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#')));
            }
            if (list.Count == 0)
            {
                throw new CliException("fetch needs at least one URL, as arguments or with --file. Run 'aio fetch --help' for usage.", ExitCodes.Usage);
            }
            foreach (string u in list)
            {
                if (!Uri.TryCreate(u, UriKind.Absolute, out Uri? uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
                {
                    throw new CliException($"'{u}' is not an absolute http:// or https:// URL.", ExitCodes.Usage);
                }
            }
            var settings = new FetchSettings(
                list,
                parse.GetValue(concurrency),
                parse.GetValue(perHost),
                new HttpMethod(parse.GetValue(method)!.ToUpperInvariant()),
                [.. (parse.GetValue(headers) ?? []).Select(h => new KeyValuePair<string, string>(h[..h.IndexOf(':', StringComparison.Ordinal)].Trim(), h[(h.IndexOf(':', StringComparison.Ordinal) + 1)..].Trim()))],
                parse.GetValue(timeout),
                parse.GetValue(AioCli.Json),
                parse.GetValue(maxRows));
            return ctx.RunOnLoop(() => RunAsync(settings, ctx));
        });
        return command;
    }

    /// <summary>Fetches every URL of <paramref name="settings"/> on the running loop; prints the results; returns the exit code.</summary>
    public static async Task<int> RunAsync(FetchSettings settings, CliContext ctx)
    {
        EventLoop loop = EventLoop.GetRunningLoop();
        int n = settings.Urls.Count;
        var results = new FetchResult?[n];
        int next = 0, finished = 0;
        double start = loop.Time();
        bool interrupted = true;
        var sessionOptions = new ClientSessionOptions
        {
            Limit = settings.Concurrency,
            LimitPerHost = settings.PerHost,
            Timeout = new ClientTimeout { Total = settings.Timeout, SocketConnect = settings.Timeout },
            Headers = settings.Headers.GroupBy(h => h.Key, StringComparer.OrdinalIgnoreCase).ToDictionary(g => g.Key, g => g.Last().Value, StringComparer.OrdinalIgnoreCase),
            UseCookies = false,
        };
        ProgressTask? bar = null;

        async Task Worker(ClientSession session)
        {
            while (next < n)
            {
                int i = next++;
                results[i] = await FetchOneAsync(session, settings.Method, settings.Urls[i], loop);
                finished++;
                bar?.Increment(1);
            }
        }

        async Task FetchAll()
        {
            await using var session = new ClientSession(sessionOptions);
            await TaskGroup.Run(g =>
            {
                for (int w = 0; w < Math.Min(settings.Concurrency, n); w++)
                {
                    g.CreateTask(() => Worker(session), $"fetch-worker-{w}");
                }
                return Task.CompletedTask;
            });
        }

        try
        {
            if (!settings.Json && ctx.Console.Profile.Capabilities.Interactive)
            {
                await ctx.Console.Progress()
                    .AutoRefresh(false)
                    .AutoClear(true)
                    .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
                    .StartAsync(async progress =>
                    {
                        bar = progress.AddTask($"fetching {n} URL(s)", maxValue: n);
                        AioTask ticker = Asyncio.CreateTask(async () =>
                        {
                            while (true)
                            {
                                progress.Refresh();
                                await Asyncio.Sleep(0.1);
                            }
                        }, "fetch-progress");
                        try
                        {
                            await FetchAll();
                        }
                        finally
                        {
                            ticker.Cancel();
                            progress.Refresh();
                        }
                    });
            }
            else
            {
                await FetchAll();
            }
            interrupted = false;
        }
        finally
        {
            double elapsed = loop.Time() - start;
            Report(settings, ctx, results, finished, elapsed, interrupted);
        }
        return results.All(r => r is { Ok: true }) ? ExitCodes.Ok : ExitCodes.Failures;
    }

    private static async Task<FetchResult> FetchOneAsync(ClientSession session, HttpMethod method, string url, EventLoop loop)
    {
        double t0 = loop.Time();
        int status = 0;
        long bytes = 0;
        try
        {
            await using ClientResponse response = await session.RequestAsync(method, url);
            status = response.Status;
            await foreach (ReadOnlyMemory<byte> chunk in response.ReadChunksAsync(16 * 1024))
            {
                bytes += chunk.Length;
            }
            return new FetchResult(status, bytes, loop.Time() - t0, status >= 400 ? $"{status} {response.Reason}" : null);
        }
        catch (Exception e) when (e is not CancelledError)
        {
            return new FetchResult(status, bytes, loop.Time() - t0, Describe(e));
        }
    }

    /// <summary>A short error for the table: the innermost message that says what happened.</summary>
    internal static string Describe(Exception e) => e switch
    {
        ClientTimeoutException t => $"timeout ({t.Kind})",
        TooManyRedirectsException => "too many redirects",
        HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError } => "connection refused or reset",
        HttpRequestException { HttpRequestError: HttpRequestError.NameResolutionError } => "host name not found",
        HttpRequestException { HttpRequestError: HttpRequestError.ResponseEnded } => "connection closed before the response ended",
        _ => (e.InnerException?.Message ?? e.Message).ReplaceLineEndings(" "),
    };

    private static void Report(FetchSettings settings, CliContext ctx, FetchResult?[] results, int finished, double elapsed, bool interrupted)
    {
        int n = results.Length;
        var latencies = new List<double>(finished);
        long bytes = 0;
        int ok = 0, failed = 0;
        foreach (FetchResult? r in results)
        {
            if (r is { } x)
            {
                bytes += x.Bytes;
                if (x.Ok)
                {
                    ok++;
                    latencies.Add(x.Seconds);
                }
                else
                {
                    failed++;
                }
            }
        }
        LatencySummary lat = LatencySummary.Of(latencies);
        double rate = elapsed > 0 ? finished / elapsed : 0;
        if (settings.Json)
        {
            WriteJson(settings, ctx.Out, results, finished, ok, failed, bytes, elapsed, rate, lat, interrupted);
            return;
        }
        var table = new Table().Border(TableBorder.Rounded)
            .AddColumn("url").AddColumn(new TableColumn("status").RightAligned()).AddColumn(new TableColumn("bytes").RightAligned())
            .AddColumn(new TableColumn("time").RightAligned()).AddColumn("error");
        IEnumerable<int> rows = Enumerable.Range(0, n).Where(i => results[i] is not null);
        int shown = 0, total = finished;
        if (finished > settings.MaxRows)
        {
            rows = rows.Where(i => !results[i]!.Value.Ok).Concat(rows.Where(i => results[i]!.Value.Ok));
        }
        foreach (int i in rows.Take(settings.MaxRows))
        {
            FetchResult r = results[i]!.Value;
            string status = r.Status == 0 ? "-" : r.Status.ToString(CultureInfo.InvariantCulture);
            table.AddRow(
                new Text(settings.Urls[i]),
                new Markup(r.Ok ? $"[green]{status}[/]" : $"[red]{status}[/]"),
                new Text(r.Bytes.ToString("N0", CultureInfo.InvariantCulture)),
                new Text(FormatMs(r.Seconds)),
                new Text(r.Error ?? ""));
            shown++;
        }
        if (shown > 0)
        {
            ctx.Console.Write(table);
        }
        if (shown < total)
        {
            ctx.Console.MarkupLine($"[grey]{total - shown} more row(s) not shown (--max-rows {settings.MaxRows}; --json lists all)[/]");
        }
        if (interrupted)
        {
            ctx.Console.MarkupLine($"[yellow]interrupted: {finished} of {n} request(s) finished[/]");
        }
        string okText = failed == 0 ? $"[green]{ok} ok[/]" : $"{ok} ok, [red]{failed} failed[/]";
        ctx.Console.MarkupLine(string.Create(CultureInfo.InvariantCulture,
            $"{finished} request(s) in {elapsed:0.###} s ({rate:N0} req/s): {okText}; {bytes:N0} bytes"));
        if (lat.Count > 0)
        {
            ctx.Console.MarkupLine($"latency of {lat.Count} ok: p50 {FormatMs(lat.P50)}  p90 {FormatMs(lat.P90)}  p99 {FormatMs(lat.P99)}  max {FormatMs(lat.Max)}");
        }
    }

    private static string FormatMs(double seconds) => string.Create(CultureInfo.InvariantCulture, $"{seconds * 1000:0.0} ms");

    private static void WriteJson(FetchSettings settings, TextWriter output, FetchResult?[] results, int finished, int ok, int failed, long bytes,
        double elapsed, double rate, LatencySummary lat, bool interrupted)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = false }))
        {
            w.WriteStartObject();
            w.WriteNumber("total", results.Length);
            w.WriteNumber("finished", finished);
            w.WriteNumber("ok", ok);
            w.WriteNumber("failed", failed);
            w.WriteBoolean("interrupted", interrupted);
            w.WriteNumber("elapsed_s", Math.Round(elapsed, 6));
            w.WriteNumber("requests_per_s", Math.Round(rate, 1));
            w.WriteNumber("bytes", bytes);
            w.WriteStartObject("latency_ms");
            w.WriteNumber("count", lat.Count);
            w.WriteNumber("p50", Math.Round(lat.P50 * 1000, 3));
            w.WriteNumber("p90", Math.Round(lat.P90 * 1000, 3));
            w.WriteNumber("p99", Math.Round(lat.P99 * 1000, 3));
            w.WriteNumber("max", Math.Round(lat.Max * 1000, 3));
            w.WriteEndObject();
            w.WriteStartArray("results");
            for (int i = 0; i < results.Length; i++)
            {
                if (results[i] is not { } r)
                {
                    continue;
                }
                w.WriteStartObject();
                w.WriteString("url", settings.Urls[i]);
                w.WriteNumber("status", r.Status);
                w.WriteNumber("bytes", r.Bytes);
                w.WriteNumber("time_ms", Math.Round(r.Seconds * 1000, 3));
                w.WriteBoolean("ok", r.Ok);
                if (r.Error is null)
                {
                    w.WriteNull("error");
                }
                else
                {
                    w.WriteString("error", r.Error);
                }
                w.WriteEndObject();
                if (w.BytesPending + stream.Length > 64 * 1024)
                {
                    Drain(w, stream, output);   // 10,000 results are written as they go, not built whole in memory
                }
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        Drain(null, stream, output);
        output.WriteLine();
        output.Flush();
    }

    private static void Drain(Utf8JsonWriter? writer, MemoryStream stream, TextWriter output)
    {
        writer?.Flush();
        output.Write(System.Text.Encoding.UTF8.GetString(stream.GetBuffer(), 0, (int)stream.Length));
        stream.SetLength(0);
    }
}
