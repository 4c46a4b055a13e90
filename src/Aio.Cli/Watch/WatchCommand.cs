// aio watch: the tutorial's periodic check grown up. See WatchMonitor for the checks and the history.
//
// Design note. Ctrl+C or SIGTERM cancels the main task: the scheduler stops firing, the round in flight
// finishes (its requests end by --timeout), then, in a shielded scope, the pending rows are written and the
// database closed, and the session's summary is printed. With --dashboard, an Aio.Http server on the same loop serves
// the dashboard (Dashboard/WatchDashboard.cs); at the stop it shuts down gracefully after the round in flight (its live
// streams end with a `bye` event) and before the database is closed, so no request reads a closed file. A stop is how a watch ends, so it exits 0 — unless rows
// could not be written (exit 1, and the log says how many).
using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Aio.Cli.Dashboard;
using Aio.Http;
using Spectre.Console;

namespace Aio.Cli.Watch;

internal static class WatchCommand
{
    public static Command Create(CliContext ctx)
    {
        var urls = new Argument<string[]>("url") { Description = "URLs to check (http or https)", Arity = ArgumentArity.OneOrMore };
        var every = new Option<TimeSpan>("--every", "-e") { Description = "Time between checks (30s, 5m)", DefaultValueFactory = _ => TimeSpan.FromSeconds(30), CustomParser = r => Durations.Parse(r) };
        var method = new Option<string>("--method", "-X") { Description = "HTTP method of a check", DefaultValueFactory = _ => "HEAD" };
        method.AcceptOnlyFromAmong("HEAD", "GET", "head", "get");
        var timeout = new Option<TimeSpan>("--timeout", "-t") { Description = "Limit for one check (a slower one counts as down)", DefaultValueFactory = _ => TimeSpan.FromSeconds(10), CustomParser = r => Durations.Parse(r) };
        var db = new Option<string>("--db") { Description = "History database (default $XDG_DATA_HOME/aio/watch.db, else ~/.local/share/aio/watch.db)" };
        var retention = new Option<TimeSpan>("--retention") { Description = "Keep this much history (30d, 12h)", DefaultValueFactory = _ => TimeSpan.FromDays(30), CustomParser = r => Durations.Parse(r) };
        var webhook = new Option<Uri>("--webhook") { Description = "POST a JSON message to this URL on each up/down transition", CustomParser = r => ParseUrl(r) };
        var dashboard = new Option<DashboardEndpoint>("--dashboard") { Description = "Serve a live dashboard (charts, uptime, JSON API) on HOST:PORT, e.g. 127.0.0.1:8080", CustomParser = r => ParseEndpoint(r) };
        var command = new Command("watch", "Check URLs periodically, keep the history in SQLite, report up/down transitions (Ctrl+C stops)")
        {
            urls, every, method, timeout, db, retention, webhook, dashboard,
        };
        command.SetAction(parse =>
        {
            string[] list = parse.GetValue(urls) ?? [];
            foreach (string u in list)
            {
                if (!Uri.TryCreate(u, UriKind.Absolute, out Uri? uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
                {
                    throw new CliException($"'{u}' is not an absolute http:// or https:// URL.", ExitCodes.Usage);
                }
            }
            var settings = new WatchSettings(
                [.. list.Distinct(StringComparer.Ordinal)],
                parse.GetValue(every),
                new HttpMethod(parse.GetValue(method)!.ToUpperInvariant()),
                parse.GetValue(timeout),
                parse.GetValue(db) ?? WatchStore.DefaultPath(ctx.GetEnvironment),
                parse.GetValue(retention),
                parse.GetValue(webhook),
                parse.GetValue(AioCli.Json))
            {
                Dashboard = parse.GetValue(dashboard),
            };
            var logger = AioCli.Logger(ctx, parse);
            bool verbose = parse.GetValue(AioCli.Verbose);
            var outcome = new WatchOutcome();
            int code = ctx.RunOnLoop(() => RunAsync(settings, ctx, logger, verbose, outcome), interruptedExitCode: -1);
            return code == -1 ? outcome.ExitCode : code;   // a stop by Ctrl+C/SIGTERM: what the closing found
        });
        return command;
    }

    private static Uri ParseUrl(System.CommandLine.Parsing.ArgumentResult r)
    {
        string token = r.Tokens.Count > 0 ? r.Tokens[^1].Value : "";
        if (!Uri.TryCreate(token, UriKind.Absolute, out Uri? uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            r.AddError($"--webhook: '{token}' is not an absolute http:// or https:// URL.");
            return null!;
        }
        return uri;
    }

    private static DashboardEndpoint ParseEndpoint(System.CommandLine.Parsing.ArgumentResult r)
    {
        string token = r.Tokens.Count > 0 ? r.Tokens[^1].Value : "";
        if (DashboardEndpoint.TryParse(token, out string error) is not { } endpoint)
        {
            r.AddError(error);
            return null!;
        }
        return endpoint;
    }

    /// <summary>The exit code a watch ends with, set by its closing even when a cancellation ends the task.</summary>
    internal sealed class WatchOutcome
    {
        public int ExitCode { get; set; } = ExitCodes.Ok;
    }

    /// <summary>Watches until cancelled; returns the exit code, also left in <paramref name="outcome"/> (the only way out of a cancelled task).</summary>
    public static async Task<int> RunAsync(WatchSettings settings, CliContext ctx, Microsoft.Extensions.Logging.ILogger logger, bool verbose, WatchOutcome outcome, IWatchProbe? probe = null)
    {
        await using var session = new ClientSession(new ClientSessionOptions
        {
            Timeout = new ClientTimeout { Total = settings.Timeout, SocketConnect = settings.Timeout },
            UseCookies = false,
            Headers = new Dictionary<string, string> { ["User-Agent"] = "aio-watch/1" },
        });
        var monitor = new WatchMonitor(settings, probe ?? new HttpProbe(session, settings.Method), logger, session);
        try
        {
            await monitor.OpenAsync();
        }
        catch (WatchStoreException e)
        {
            throw new CliException(e.Message, ExitCodes.Failures, e);
        }
        TimeProvider wallClock = settings.WallClock ?? EventLoop.GetRunningLoop().TimeProvider;
        DateTimeOffset started = wallClock.GetUtcNow();
        HttpServer? server = null;
        if (settings.Dashboard is { } endpoint)
        {
            var dashboard = new WatchDashboard(monitor, settings, wallClock, logger, loopbackOnly: endpoint.IsLoopback);
            try
            {
                server = await dashboard.Application.StartAsync(endpoint.Host, endpoint.Port);
            }
            catch (System.Net.Sockets.SocketException e)
            {
                await new CancelScope(shield: true).RunAsync(monitor.CloseAsync);
                throw new CliException($"--dashboard: cannot listen on {endpoint.Host}:{endpoint.Port} ({e.Message}); pick another port or address.", ExitCodes.Failures, e);
            }
            string address = endpoint.Url(server.Port);
            if (settings.Json)
            {
                WriteJsonLine(ctx.Out, w =>
                {
                    w.WriteString("event", "dashboard");
                    w.WriteString("url", address);
                });
            }
            else
            {
                ctx.Console.MarkupLine($"dashboard on {Markup.Escape(address)}");
            }
        }
        var seen = new HashSet<string>(StringComparer.Ordinal);
        monitor.CheckCompleted += c =>
        {
            if (settings.Json)
            {
                WriteJson(ctx.Out, "check", c.Url, c.At, c.Up, null, c.Status, c.LatencyMs, c.Error);
            }
            else if (seen.Add(c.Url) || verbose)
            {
                PrintLine(ctx.Console, c.At, c.Up, c.Url, c.Status, c.LatencyMs, c.Error, "");
            }
        };
        monitor.TransitionOccurred += t =>
        {
            if (settings.Json)
            {
                WriteJson(ctx.Out, "transition", t.Url, t.At, t.Up, t.Previous, t.Status, null, t.Error);
            }
            else if (t.Previous is not null)
            {
                PrintLine(ctx.Console, t.At, t.Up, t.Url, t.Status, null, t.Error, t.Up ? " (recovered)" : " (went down)");
            }
        };
        if (!settings.Json)
        {
            ctx.Console.MarkupLine($"watching {settings.Urls.Count} URL(s) every {Durations.Format(settings.Every)} ({settings.Method} with a {Durations.Format(settings.Timeout)} timeout); history in {Markup.Escape(monitor.Path)}; Ctrl+C stops");
        }
        int exit = ExitCodes.Ok;
        try
        {
            await monitor.RunAsync();
        }
        finally
        {
            await new CancelScope(shield: true).RunAsync(async () =>
            {
                if (server is not null)
                {
                    await server.ShutdownAsync(DashboardGracePeriod);   // the live streams say bye; API requests finish
                }
                DateTimeOffset now = wallClock.GetUtcNow();
                List<UptimeRecord> uptime = [];
                try
                {
                    uptime = await monitor.UptimeAsync(started, now.AddMilliseconds(1));
                }
                catch (Microsoft.Data.Sqlite.SqliteException)
                {
                    // The summary is a courtesy; the rows are what matters (CloseAsync reports them).
                }
                int lost = await monitor.CloseAsync();
                if (lost > 0)
                {
                    ctx.Error.WriteLine($"aio: {lost} check(s) could not be written to {monitor.Path} (see the log above); the file was left as it was.");
                    exit = ExitCodes.Failures;
                    outcome.ExitCode = exit;
                }
                if (!settings.Json)
                {
                    PrintSummary(ctx.Console, uptime, monitor);
                }
            });
        }
        return exit;
    }

    /// <summary>Seconds the dashboard's requests get to finish at the stop.</summary>
    private const double DashboardGracePeriod = 2;

    private static void PrintLine(IAnsiConsole console, DateTimeOffset at, bool up, string url, int status, double? latencyMs, string? error, string suffix)
    {
        string state = up ? "[green]UP  [/]" : "[red]DOWN[/]";
        string detail = up
            ? string.Create(CultureInfo.InvariantCulture, $"{status}{(latencyMs is { } ms ? $" {ms:0.0} ms" : "")}")
            : Markup.Escape(error ?? $"status {status}");
        console.MarkupLine($"{at.UtcDateTime:yyyy-MM-dd HH:mm:ss}Z {state} {Markup.Escape(url)}  {detail}{suffix}");
    }

    private static void PrintSummary(IAnsiConsole console, List<UptimeRecord> uptime, WatchMonitor monitor)
    {
        console.MarkupLine($"stopped: {monitor.Rounds} round(s), {monitor.Written} check(s) written to {Markup.Escape(monitor.Path)}");
        if (uptime.Count == 0)
        {
            return;
        }
        var table = new Table().Border(TableBorder.Rounded).AddColumn("url").AddColumn(new TableColumn("checks").RightAligned())
            .AddColumn(new TableColumn("uptime").RightAligned()).AddColumn(new TableColumn("mean").RightAligned()).AddColumn(new TableColumn("p95").RightAligned()).AddColumn("now");
        foreach (UptimeRecord u in uptime)
        {
            table.AddRow(
                new Text(u.Url),
                new Text(u.Checks.ToString(CultureInfo.InvariantCulture)),
                new Text(string.Create(CultureInfo.InvariantCulture, $"{100.0 * u.Up / Math.Max(1, u.Checks):0.0}%")),
                new Text(string.Create(CultureInfo.InvariantCulture, $"{u.MeanLatencyMs:0.0} ms")),
                new Text(string.Create(CultureInfo.InvariantCulture, $"{u.P95LatencyMs:0.0} ms")),
                new Markup(u.LastUp == true ? "[green]up[/]" : "[red]down[/]"));
        }
        console.Write(table);
    }

    private static void WriteJsonLine(TextWriter output, Action<Utf8JsonWriter> fields)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            fields(w);
            w.WriteEndObject();
        }
        output.WriteLine(System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan));
        output.Flush();
    }

    private static void WriteJson(TextWriter output, string kind, string url, DateTimeOffset at, bool up, bool? previous, int status, double? latencyMs, string? error)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("event", kind);
            w.WriteString("url", url);
            w.WriteString("at", at.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture));
            w.WriteString("state", up ? "up" : "down");
            if (kind == "transition")
            {
                if (previous is { } p)
                {
                    w.WriteString("previous", p ? "up" : "down");
                }
                else
                {
                    w.WriteNull("previous");
                }
            }
            w.WriteNumber("status", status);
            if (latencyMs is { } ms)
            {
                w.WriteNumber("latency_ms", Math.Round(ms, 3));
            }
            if (error is null)
            {
                w.WriteNull("error");
            }
            else
            {
                w.WriteString("error", error);
            }
            w.WriteEndObject();
        }
        output.WriteLine(System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan));
        output.Flush();
    }
}
