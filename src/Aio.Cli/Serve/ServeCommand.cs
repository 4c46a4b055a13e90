// aio serve: a directory over HTTP with Aio.Http's static files (Router.Static), an access log, a graceful stop.
//
// Design note. Everything a request meets is Aio.Http's: the path checks (nothing outside the root), validators,
// ranges, sendfile, the optional directory listing (StaticFileOptions.DirectoryListing), and the access log, which
// is the server's own "Aio.Http.Access" log category (event 204: remote, method, target, status, body bytes, loop
// time). The tool only gives the application a logger factory that turns that category into lines on standard
// output (common log format, or JSON lines with --json) and sends the rest of the server's log to standard error.
// Ctrl+C or SIGTERM cancels the main task; its finally, shielded, runs the server's two-phase shutdown (stop
// accepting and close idle connections, let in-flight requests finish within --grace, then cancel what is left).
// A stop is how a server ends, so it exits 0.
using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Aio.Http;
using Microsoft.Extensions.Logging;
using Spectre.Console;

namespace Aio.Cli.Serve;

/// <summary>The settings of one <c>aio serve</c> run.</summary>
internal sealed record ServeSettings(string Root, string Host, int Port, bool Listing, TimeSpan Grace, bool Json);

/// <summary>One line of the access log.</summary>
internal readonly record struct AccessEntry(DateTimeOffset Time, string Remote, string Method, string Target, int Status, long Bytes, double DurationMs);

internal static class ServeCommand
{
    public static Command Create(CliContext ctx)
    {
        var dir = new Argument<string>("dir") { Description = "The directory to serve (default: the current one)", Arity = ArgumentArity.ZeroOrOne };
        var port = new Option<int>("--port", "-p") { Description = "Port to listen on (0: a free one, printed)", DefaultValueFactory = _ => 8000 };
        port.Validators.Add(r =>
        {
            if (r.Tokens.Count > 0 && int.TryParse(r.Tokens[^1].Value, CultureInfo.InvariantCulture, out int p) && p is < 0 or > 65535)
            {
                r.AddError("--port must be between 0 and 65535.");
            }
        });
        var host = new Option<string>("--host") { Description = "Address to listen on (0.0.0.0: every interface)", DefaultValueFactory = _ => "127.0.0.1" };
        var listing = new Option<bool>("--listing", "-l") { Description = "Answer a directory without index.html with a list of its entries" };
        var grace = new Option<TimeSpan>("--grace") { Description = "On Ctrl+C or SIGTERM, time in-flight requests get to finish (10s, 1m)", DefaultValueFactory = _ => TimeSpan.FromSeconds(10), CustomParser = r => Durations.Parse(r, positive: false) };
        var command = new Command("serve", "Serve a directory over HTTP (index.html, optional listing, an access log; Ctrl+C stops gracefully)")
        {
            dir, port, host, listing, grace,
        };
        command.SetAction(parse =>
        {
            string root = Path.GetFullPath(parse.GetValue(dir) ?? ".", ctx.CurrentDirectory);
            if (!Directory.Exists(root))
            {
                throw new CliException($"{root} is not a directory; name one that exists.", ExitCodes.Usage);
            }
            var settings = new ServeSettings(root, parse.GetValue(host)!, parse.GetValue(port), parse.GetValue(listing), parse.GetValue(grace), parse.GetValue(AioCli.Json));
            ILogger logger = AioCli.Logger(ctx, parse);
            return ctx.RunOnLoop(() => RunAsync(settings, ctx, logger), interruptedExitCode: ExitCodes.Ok);
        });
        return command;
    }

    /// <summary>Serves until cancelled (Ctrl+C, SIGTERM), then shuts the server down gracefully.</summary>
    public static async Task<int> RunAsync(ServeSettings settings, CliContext ctx, ILogger logger)
    {
        long requests = 0;
        var app = new Application
        {
            LoggerFactory = new ServeLoggerFactory(logger, entry =>
            {
                requests++;
                WriteAccess(ctx, settings.Json, entry);
            }),
        };
        app.Router.Static("/", settings.Root, new StaticFileOptions { IndexFile = "index.html", DirectoryListing = settings.Listing });
        HttpServer server;
        try
        {
            server = await app.StartAsync(settings.Host, settings.Port);
        }
        catch (Exception e) when (e is System.Net.Sockets.SocketException or IOException)
        {
            throw new CliException($"cannot listen on {settings.Host}:{settings.Port}: {e.Message}. Choose another --port (0 picks a free one) or --host.", ExitCodes.Failures, e);
        }
        string url = Url(settings.Host, server.Port);
        if (settings.Json)
        {
            WriteJson(ctx.Out, w =>
            {
                w.WriteString("event", "listening");
                w.WriteString("url", url);
                w.WriteString("root", settings.Root);
                w.WriteBoolean("listing", settings.Listing);
            });
        }
        else
        {
            ctx.Console.MarkupLine($"serving {Markup.Escape(settings.Root)} on [link]{Markup.Escape(url)}[/]{(settings.Listing ? " with directory listings" : "")}; Ctrl+C stops");
        }
        ctx.Out.Flush();
        try
        {
            await new AioEvent().WaitAsync();   // until Ctrl+C or SIGTERM cancels the main task
        }
        finally
        {
            double seconds = settings.Grace.TotalSeconds;
            await new CancelScope(shield: true).RunAsync(() => server.ShutdownAsync(seconds));
            if (settings.Json)
            {
                WriteJson(ctx.Out, w =>
                {
                    w.WriteString("event", "stopped");
                    w.WriteNumber("requests", requests);
                });
            }
            else
            {
                ctx.Console.MarkupLine($"stopped: {requests} request(s) served");
            }
            ctx.Out.Flush();
        }
        return ExitCodes.Ok;
    }

    private static string Url(string host, int port)
    {
        string shown = host is "0.0.0.0" or "::" or "" ? "127.0.0.1" : host;
        if (shown.Contains(':', StringComparison.Ordinal))
        {
            shown = $"[{shown}]";   // an IPv6 address
        }
        return string.Create(CultureInfo.InvariantCulture, $"http://{shown}:{port}/");
    }

    private static void WriteAccess(CliContext ctx, bool json, AccessEntry e)
    {
        if (json)
        {
            WriteJson(ctx.Out, w =>
            {
                w.WriteString("event", "request");
                w.WriteString("time", e.Time.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture));
                w.WriteString("remote", e.Remote);
                w.WriteString("method", e.Method);
                w.WriteString("target", e.Target);
                w.WriteNumber("status", e.Status);
                w.WriteNumber("bytes", e.Bytes);
                w.WriteNumber("duration_ms", e.DurationMs);
            });
            ctx.Out.Flush();
            return;
        }
        string line = CommonLogLine(e);
        if (!ctx.Console.Profile.Capabilities.Ansi)
        {
            ctx.Out.WriteLine(line);   // a file or a pipe: the line as is, never wrapped
            ctx.Out.Flush();
            return;
        }
        string status = e.Status.ToString(CultureInfo.InvariantCulture);
        int at = line.LastIndexOf($"\" {status} ", StringComparison.Ordinal) + 2;
        string colour = e.Status switch { >= 500 => "red", >= 400 => "yellow", >= 300 => "blue", _ => "green" };
        ctx.Console.MarkupLine($"{Markup.Escape(line[..at])}[{colour}]{status}[/]{Markup.Escape(line[(at + status.Length)..])}");
    }

    /// <summary>The common log format (remote - - [time] "request" status bytes) with the duration appended.</summary>
    internal static string CommonLogLine(AccessEntry e)
    {
        string remote = e.Remote;
        int colon = remote.LastIndexOf(':');
        if (colon > 0 && !remote.EndsWith(']'))
        {
            remote = remote[..colon].Trim('[', ']');   // the host, as the format has it
        }
        return string.Create(CultureInfo.InvariantCulture,
            $"{remote} - - [{e.Time.UtcDateTime:dd/MMM/yyyy:HH:mm:ss} +0000] \"{e.Method} {e.Target}\" {e.Status} {e.Bytes} {e.DurationMs:0.###}ms");
    }

    private static void WriteJson(TextWriter output, Action<Utf8JsonWriter> body)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            body(w);
            w.WriteEndObject();
        }
        output.WriteLine(System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan));
    }

    /// <summary>
    /// The application's logger factory: the "Aio.Http.Access" category becomes <see cref="AccessEntry"/> values
    /// (read from the log entry's named values, not parsed from its text); every other category goes to the tool's log.
    /// </summary>
    private sealed class ServeLoggerFactory(ILogger log, Action<AccessEntry> access) : ILoggerFactory
    {
        public ILogger CreateLogger(string categoryName) => categoryName == "Aio.Http.Access" ? new AccessLogger(access) : log;

        public void AddProvider(ILoggerProvider provider) => throw new NotSupportedException("aio serve's logger factory takes no providers.");

        public void Dispose()
        {
        }
    }

    private sealed class AccessLogger(Action<AccessEntry> access) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (state is not IReadOnlyList<KeyValuePair<string, object?>> values)
            {
                return;
            }
            string remote = "-", method = "", target = "";
            int status = 0;
            long bytes = 0;
            double ms = 0;
            foreach (KeyValuePair<string, object?> v in values)
            {
                switch (v.Key)
                {
                    case "Remote": remote = v.Value as string ?? "-"; break;
                    case "Method": method = v.Value as string ?? ""; break;
                    case "Target": target = v.Value as string ?? ""; break;
                    case "Status": status = v.Value is int s ? s : 0; break;
                    case "Bytes": bytes = v.Value is long b ? b : 0; break;
                    case "DurationMs": ms = v.Value is double d ? d : 0; break;
                    default: break;
                }
            }
            access(new AccessEntry(DateTimeOffset.UtcNow, remote, method, target, status, bytes, ms));
        }
    }
}
