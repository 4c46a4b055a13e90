// WatchDashboard: the web page of `aio watch --dashboard HOST:PORT`, served by Aio.Http on the watch's own loop.
//
// Design note. The page (index.html, dashboard.js, dashboard.css and the vendored uPlot chart library, all embedded in
// the assembly: no file on disk, no CDN) draws one latency chart per URL and an uptime table. It loads the history from
// the JSON API (/api/checks, /api/uptime: WatchMonitor's queries on the SQLite file) and then follows the live feed,
// /api/events, a server-sent event stream. SSE and not a WebSocket: the feed goes one way (server to page), and
// EventSource reconnects by itself and sends the id of the last event it got (Last-Event-ID), which is all resumption
// needs: a round's id is its time in Unix milliseconds, so a reconnecting page gets the rounds it missed from the file.
// It is plain HTTP (no upgrade), so a proxy passes it and the server's graceful shutdown ends it like any response.
//
// Each page's stream owns a bounded queue; a round (the checks of one tick, raised by WatchMonitor.CheckCompleted after
// the write) is put on every queue without waiting. A page that does not read fills its queue and its stream is ended:
// the browser reconnects with Last-Event-ID and reads the rounds from the file, so a slow page never holds the watch
// back nor grows its memory. On shutdown (Ctrl+C, SIGTERM) the server's graceful shutdown cancels the producers: each
// sends what its queue still holds (the last round lands just before the stop) and a `bye` event, within a second, and
// the stream ends with its last chunk; the page closes its EventSource.
using System.Buffers;
using System.Globalization;
using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Aio.Cli.Watch;
using Aio.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Aio.Cli.Dashboard;

/// <summary>Where the dashboard listens: <c>--dashboard HOST:PORT</c> (an IPv6 address in brackets, port 0: the system chooses).</summary>
internal sealed record DashboardEndpoint(string Host, int Port)
{
    /// <summary>Parses <c>127.0.0.1:8080</c>, <c>localhost:8080</c>, <c>[::1]:8080</c>, <c>0.0.0.0:8080</c>; null with an error message otherwise.</summary>
    public static DashboardEndpoint? TryParse(string text, out string error)
    {
        error = "";
        int colon = text.LastIndexOf(':');
        string host = colon > 0 ? text[..colon] : "";
        if (host.StartsWith('[') && host.EndsWith(']'))
        {
            host = host[1..^1];
        }
        else if (host.Contains(':', StringComparison.Ordinal))
        {
            host = "";   // an IPv6 address without brackets: the port cannot be told apart
        }
        if (host.Length == 0 || !int.TryParse(text.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out int port) || port > 65535)
        {
            error = $"--dashboard: '{text}' is not HOST:PORT; write it as 127.0.0.1:8080 (this machine only), [::1]:8080, or 0.0.0.0:8080 to be reachable from other machines.";
            return null;
        }
        return new DashboardEndpoint(host, port);
    }

    /// <summary>True when the host is a loopback address or <c>localhost</c>: the dashboard is for this machine only.</summary>
    public bool IsLoopback => Host == "localhost" || (System.Net.IPAddress.TryParse(Host, out System.Net.IPAddress? ip) && System.Net.IPAddress.IsLoopback(ip));

    /// <summary>The base URL of a server listening on <paramref name="port"/> at this host.</summary>
    public string Url(int port) => $"http://{(Host.Contains(':', StringComparison.Ordinal) ? $"[{Host}]" : Host)}:{port.ToString(CultureInfo.InvariantCulture)}/";
}

internal sealed class WatchDashboard
{
    /// <summary>Rounds a page's stream may fall behind before it is ended (the page then resumes from the file).</summary>
    internal const int FeedQueueSize = 64;

    /// <summary>The most checks one /api/checks answer holds (per URL when no <c>url</c> is given).</summary>
    internal const int MaxLimit = 100_000;

    private const string DefaultChecksWindow = "1h";
    private const string DefaultUptimeWindow = "24h";
    private const string ApiCacheControl = "no-store";

    private static readonly Dictionary<string, Asset> Assets = LoadAssets();

    private readonly WatchMonitor _monitor;
    private readonly IReadOnlyList<string> _urls;
    private readonly HashSet<string> _watched;
    private readonly TimeSpan _every;
    private readonly TimeProvider _wallClock;
    private readonly TimeSpan _heartbeat;
    private readonly List<Subscriber> _subscribers = [];
    private readonly List<CheckRecord> _round = [];

    /// <param name="monitor">The watch whose history and rounds the dashboard shows.</param>
    /// <param name="settings">The watch's settings (its URLs and period).</param>
    /// <param name="wallClock">The clock of "now" in the API's windows.</param>
    /// <param name="logger">Where the server's errors go.</param>
    /// <param name="heartbeat">The feed's keep-alive comment interval (default 15 s; zero for none).</param>
    /// <param name="loopbackOnly">
    /// Answer only requests whose Host is a loopback name (127.0.0.1, [::1], localhost, any port), 421 otherwise: a
    /// dashboard bound to loopback cannot be read by another site's page through DNS rebinding.
    /// </param>
    public WatchDashboard(WatchMonitor monitor, WatchSettings settings, TimeProvider wallClock, ILogger logger, TimeSpan? heartbeat = null, bool loopbackOnly = false)
    {
        _monitor = monitor;
        _urls = settings.Urls;
        _watched = new HashSet<string>(settings.Urls, StringComparer.Ordinal);
        _every = settings.Every;
        _wallClock = wallClock;
        _heartbeat = heartbeat ?? TimeSpan.FromSeconds(15);
        monitor.CheckCompleted += OnCheck;
        monitor.TransitionOccurred += OnTransition;
        Application = new Application
        {
            ShutdownGracePeriod = 2,
            LoggerFactory = new OneLoggerFactory(logger),
        };
        if (loopbackOnly)
        {
            Application.Use(LoopbackHostOnly);
        }
        Application.Use(SecurityHeaders);
        Application.Router.Get("/", req => AssetResponse("index.html", req));
        Application.Router.Get("/assets/{name}", req => AssetResponse(req.Route("name"), req));
        Application.Router.Get("/api/checks", ChecksAsync);
        Application.Router.Get("/api/uptime", UptimeAsync);
        Application.Router.Get("/api/events", Events);
    }

    /// <summary>The routes: the page, its assets, the JSON API and the live feed.</summary>
    public Application Application { get; }

    /// <summary>Pages following the live feed now.</summary>
    public int Subscribers => _subscribers.Count;

    /// <summary>Rounds sent to the feed so far.</summary>
    public long RoundsPublished { get; private set; }

    private static ValueTask<Response> LoopbackHostOnly(Request request, Handler next)
    {
        string host = request.Headers["Host"] ?? "";
        int colon = host.LastIndexOf(':');
        string name = colon > 0 && host.IndexOf(']', StringComparison.Ordinal) < colon ? host[..colon] : host;
        if (name is "127.0.0.1" or "localhost" or "[::1]")
        {
            return next(request);
        }
        return new ValueTask<Response>(Response.Text(
            $"421 Misdirected Request: this dashboard listens on a loopback address and answers only Host 127.0.0.1, localhost or [::1], not '{host}'. To reach it from other machines, run aio watch with --dashboard 0.0.0.0:PORT.", 421));
    }

    private static async ValueTask<Response> SecurityHeaders(Request request, Handler next)
    {
        Response r = await next(request);
        // Everything the page loads comes from here: no inline script, no other origin, no framing.
        r.Headers["Content-Security-Policy"] = "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
        r.Headers["X-Content-Type-Options"] = "nosniff";
        r.Headers["Referrer-Policy"] = "no-referrer";
        return r;
    }

    // ---- the page and its assets -------------------------------------------------------------------------------

    private readonly record struct Asset(byte[] Body, string ContentType, string ETag);

    private static Dictionary<string, Asset> LoadAssets()
    {
        var assets = new Dictionary<string, Asset>(StringComparer.Ordinal);
        Assembly assembly = typeof(WatchDashboard).Assembly;
        const string Prefix = "dashboard/";
        foreach (string name in assembly.GetManifestResourceNames())
        {
            if (!name.StartsWith(Prefix, StringComparison.Ordinal))
            {
                continue;
            }
            using Stream stream = assembly.GetManifestResourceStream(name)!;
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            byte[] body = copy.ToArray();
            string file = name[Prefix.Length..];
            string type = System.IO.Path.GetExtension(file) switch
            {
                ".html" => "text/html; charset=utf-8",
                ".js" => "text/javascript; charset=utf-8",
                ".css" => "text/css; charset=utf-8",
                _ => "text/plain; charset=utf-8",
            };
            assets[file] = new Asset(body, type, $"\"{Convert.ToHexStringLower(SHA256.HashData(body).AsSpan(0, 12))}\"");
        }
        return assets;
    }

    /// <summary>An embedded file: its type, an ETag of its content, <c>Cache-Control: no-cache</c> (revalidated, so a new aio's page is never stale), 304 when the browser has it.</summary>
    private static Response AssetResponse(string name, Request? request)
    {
        if (!Assets.TryGetValue(name, out Asset asset))
        {
            return Response.Text("404 Not Found", 404);
        }
        string? known = request?.Headers["If-None-Match"];
        Response r = known is not null && known.Split(',').Any(t => t.Trim() == asset.ETag)
            ? Response.Status(304)
            : Response.Bytes(asset.Body, asset.ContentType);
        r.Headers["ETag"] = asset.ETag;
        r.Headers["Cache-Control"] = "no-cache";
        return r;
    }

    /// <summary>The names of the embedded assets (tests).</summary>
    internal static IEnumerable<string> AssetNames => Assets.Keys;

    // ---- the JSON API ------------------------------------------------------------------------------------------

    /// <summary>GET /api/checks?url=&amp;since=&amp;until=&amp;limit=: the history of one watched URL or all, oldest first.</summary>
    private async ValueTask<Response> ChecksAsync(Request request)
    {
        DateTimeOffset now = _wallClock.GetUtcNow();
        string? url = request.Query["url"];
        if (url is not null && !_watched.Contains(url))
        {
            return Error(404, $"'{url}' is not watched by this aio watch; the watched URLs are listed by /api/uptime.");
        }
        if (!TryParseTime(request.Query["since"] ?? DefaultChecksWindow, "since", now, out DateTimeOffset from, out string? error)
            || !TryParseTime(request.Query["until"], "until", now, out DateTimeOffset to, out error))
        {
            return Error(400, error!);
        }
        int limit = 10_000;
        if (request.Query["limit"] is { } text && (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit < 1 || limit > MaxLimit))
        {
            return Error(400, $"limit: '{text}' is not a whole number from 1 to {MaxLimit}.");
        }
        if (request.Query["until"] is null)
        {
            to = now.AddMilliseconds(1);
        }
        // One query per URL, so a limit applies to each and checks of URLs no longer watched stay out.
        var checks = new List<CheckRecord>();
        foreach (string u in url is null ? _urls : [url])
        {
            checks.AddRange(await _monitor.ChecksAsync(u, from, to, limit));
        }
        checks = [.. checks.OrderBy(c => c.At)];   // a stable sort: within a round, the URLs in command-line order
        long cursor = checks.Count > 0 ? checks.Max(c => c.At).ToUnixTimeMilliseconds() : from.ToUnixTimeMilliseconds() - 1;
        return JsonResponse(w =>
        {
            w.WriteStartObject();
            WriteTime(w, "from", from);
            WriteTime(w, "to", to);
            w.WriteNumber("cursor", cursor);
            w.WriteNumber("every_s", _every.TotalSeconds);
            w.WriteStartArray("checks");
            foreach (CheckRecord c in checks)
            {
                WriteCheck(w, c);
            }
            w.WriteEndArray();
            w.WriteEndObject();
        });
    }

    /// <summary>GET /api/uptime?since=: per watched URL, in the order given on the command line, its uptime over the window.</summary>
    private async ValueTask<Response> UptimeAsync(Request request)
    {
        DateTimeOffset now = _wallClock.GetUtcNow();
        if (!TryParseTime(request.Query["since"] ?? DefaultUptimeWindow, "since", now, out DateTimeOffset from, out string? error))
        {
            return Error(400, error!);
        }
        DateTimeOffset to = now.AddMilliseconds(1);
        Dictionary<string, UptimeRecord> found = (await _monitor.UptimeAsync(from, to)).ToDictionary(u => u.Url, StringComparer.Ordinal);
        return JsonResponse(w =>
        {
            w.WriteStartObject();
            WriteTime(w, "from", from);
            WriteTime(w, "to", to);
            w.WriteStartArray("targets");
            foreach (string url in _urls)
            {
                UptimeRecord u = found.GetValueOrDefault(url, new UptimeRecord(url, 0, 0, 0, 0, null, null));
                w.WriteStartObject();
                w.WriteString("url", url);
                w.WriteNumber("checks", u.Checks);
                w.WriteNumber("up", u.Up);
                if (u.Checks > 0)
                {
                    w.WriteNumber("uptime_pct", Math.Round(100.0 * u.Up / u.Checks, 2));
                }
                else
                {
                    w.WriteNull("uptime_pct");
                }
                w.WriteNumber("mean_ms", Math.Round(u.MeanLatencyMs, 3));
                w.WriteNumber("p95_ms", Math.Round(u.P95LatencyMs, 3));
                if (u.LastAt is { } last)
                {
                    WriteTime(w, "last_at", last);
                }
                else
                {
                    w.WriteNull("last_at");
                }
                // The state now: this run's last check, else the file's (a URL not checked yet by this run).
                bool? state = _monitor.States.GetValueOrDefault(url) ?? u.LastUp;
                if (state is { } s)
                {
                    w.WriteString("state", s ? "up" : "down");
                }
                else
                {
                    w.WriteNull("state");
                }
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        });
    }

    /// <summary>
    /// A time parameter: an ISO 8601 time (<c>2026-12-03T14:00:00Z</c>), Unix milliseconds (digits only), or a duration
    /// with its unit meaning that long ago (<c>90s</c>, <c>15m</c>, <c>1h</c>, <c>7d</c>). Null: <paramref name="now"/>.
    /// </summary>
    internal static bool TryParseTime(string? text, string name, DateTimeOffset now, out DateTimeOffset value, out string? error)
    {
        error = null;
        value = now;
        if (text is null)
        {
            return true;
        }
        if (text.Length > 0 && text.All(char.IsAsciiDigit) && long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long ms)
            && ms <= DateTimeOffset.MaxValue.ToUnixTimeMilliseconds())
        {
            value = DateTimeOffset.FromUnixTimeMilliseconds(ms);
            return true;
        }
        if (text.Length > 0 && char.IsAsciiLetter(text[^1]) && Durations.TryParse(text, out TimeSpan ago) && ago <= now - DateTimeOffset.UnixEpoch)
        {
            value = now - ago;
            return true;
        }
        if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out DateTimeOffset at) && text.Contains('T', StringComparison.Ordinal))
        {
            value = at.ToUniversalTime();
            return true;
        }
        error = $"{name}: '{text}' is not a time; write an ISO 8601 time (2026-12-03T14:00:00Z), Unix milliseconds, or a duration ago (15m, 1h, 7d).";
        return false;
    }

    private static Response Error(int status, string message)
    {
        Response r = JsonResponse(w =>
        {
            w.WriteStartObject();
            w.WriteString("error", message);
            w.WriteEndObject();
        }, status);
        return r;
    }

    private static Response JsonResponse(Action<Utf8JsonWriter> write, int status = 200)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer))
        {
            write(w);
        }
        Response r = Response.Bytes(buffer.WrittenMemory, "application/json; charset=utf-8", status);
        r.Headers["Cache-Control"] = ApiCacheControl;
        return r;
    }

    private static string Json(Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer))
        {
            write(w);
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static void WriteTime(Utf8JsonWriter w, string name, DateTimeOffset at) =>
        w.WriteString(name, at.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture));

    /// <summary>One check as the API and the feed write it (the names of <c>aio watch --json</c>, plus <c>t</c>: Unix milliseconds).</summary>
    private static void WriteCheck(Utf8JsonWriter w, CheckRecord c)
    {
        w.WriteStartObject();
        w.WriteString("url", c.Url);
        WriteTime(w, "at", c.At);
        w.WriteNumber("t", c.At.ToUnixTimeMilliseconds());
        w.WriteString("state", c.Up ? "up" : "down");
        w.WriteNumber("status", c.Status);
        w.WriteNumber("latency_ms", Math.Round(c.LatencyMs, 3));
        if (c.Error is null)
        {
            w.WriteNull("error");
        }
        else
        {
            w.WriteString("error", c.Error);
        }
        w.WriteEndObject();
    }

    private static string RoundJson(CheckRecord[] checks) => Json(w =>
    {
        w.WriteStartObject();
        WriteTime(w, "at", checks[0].At);
        w.WriteNumber("t", checks[0].At.ToUnixTimeMilliseconds());
        w.WriteStartArray("checks");
        foreach (CheckRecord c in checks)
        {
            WriteCheck(w, c);
        }
        w.WriteEndArray();
        w.WriteEndObject();
    });

    // ---- the live feed -----------------------------------------------------------------------------------------

    private readonly record struct FeedEvent(string Name, string Data, long? Id);

    private sealed class Subscriber
    {
        public AioQueue<FeedEvent> Queue { get; } = new(FeedQueueSize);
    }

    private void OnCheck(CheckRecord check)
    {
        // WatchMonitor raises one CheckCompleted per URL, all of a round together: publish the round once it is whole.
        _round.Add(check);
        if (_round.Count < _urls.Count)
        {
            return;
        }
        CheckRecord[] round = [.. _round];
        _round.Clear();
        RoundsPublished++;
        if (_subscribers.Count > 0)
        {
            Publish(new FeedEvent("round", RoundJson(round), round[0].At.ToUnixTimeMilliseconds()));
        }
    }

    private void OnTransition(TransitionRecord t)
    {
        if (_subscribers.Count == 0)
        {
            return;
        }
        Publish(new FeedEvent("transition", Json(w =>
        {
            w.WriteStartObject();
            w.WriteString("url", t.Url);
            WriteTime(w, "at", t.At);
            w.WriteString("state", t.Up ? "up" : "down");
            if (t.Previous is { } p)
            {
                w.WriteString("previous", p ? "up" : "down");
            }
            else
            {
                w.WriteNull("previous");
            }
            w.WriteNumber("status", t.Status);
            if (t.Error is null)
            {
                w.WriteNull("error");
            }
            else
            {
                w.WriteString("error", t.Error);
            }
            w.WriteEndObject();
        }), null));
    }

    private void Publish(FeedEvent e)
    {
        foreach (Subscriber s in _subscribers.ToArray())
        {
            if (!s.Queue.TryPut(e))
            {
                // Too far behind: end its stream; the browser reconnects and reads what it missed from the file.
                _subscribers.Remove(s);
                s.Queue.Shutdown(immediate: true);
            }
        }
    }

    /// <summary>
    /// GET /api/events?after=MS: a <c>hello</c> event, the rounds after MS (or after the Last-Event-ID of a reconnect)
    /// from the file, then each new <c>round</c> and <c>transition</c> as it happens; <c>bye</c> when the watch stops.
    /// </summary>
    private Response Events(Request request)
    {
        string? after = request.Query["after"];
        if (after is not null && !long.TryParse(after, NumberStyles.None, CultureInfo.InvariantCulture, out _))
        {
            return Error(400, $"after: '{after}' is not Unix milliseconds (the cursor of /api/checks).");
        }
        return Response.EventStream(request, sse => FeedAsync(sse, after), _heartbeat);
    }

    private async Task FeedAsync(EventStreamWriter sse, string? after)
    {
        var subscriber = new Subscriber();
        _subscribers.Add(subscriber);   // before the backlog query: a round written meanwhile waits in the queue
        long sent = -1;   // the id of the last round the page has
        try
        {
            await sse.SendAsync(Json(w =>
            {
                w.WriteStartObject();
                w.WriteNumber("every_s", _every.TotalSeconds);
                w.WriteStartArray("urls");
                foreach (string u in _urls)
                {
                    w.WriteStringValue(u);
                }
                w.WriteEndArray();
                w.WriteEndObject();
            }), "hello", retry: TimeSpan.FromSeconds(2));
            string? resume = sse.LastEventId ?? after;
            if (resume is not null && long.TryParse(resume, NumberStyles.None, CultureInfo.InvariantCulture, out long last))
            {
                sent = last;
                var backlog = new List<CheckRecord>();
                DateTimeOffset from = DateTimeOffset.FromUnixTimeMilliseconds(last + 1), to = _wallClock.GetUtcNow().AddMilliseconds(1);
                foreach (string u in _urls)
                {
                    backlog.AddRange(await _monitor.ChecksAsync(u, from, to, MaxLimit));
                }
                foreach (IGrouping<DateTimeOffset, CheckRecord> round in backlog.GroupBy(c => c.At).OrderBy(g => g.Key))
                {
                    long id = round.Key.ToUnixTimeMilliseconds();
                    await sse.SendAsync(RoundJson([.. round]), "round", id.ToString(CultureInfo.InvariantCulture));
                    sent = id;
                }
            }
            while (true)
            {
                FeedEvent e;
                try
                {
                    e = await subscriber.Queue.GetAsync();
                }
                catch (QueueShutDownException)
                {
                    return;   // fell behind: the stream ends, the browser reconnects with Last-Event-ID
                }
                if (e.Id is { } id && id <= sent)
                {
                    continue;   // already sent from the file
                }
                await sse.SendAsync(e.Data, e.Name, e.Id?.ToString(CultureInfo.InvariantCulture));
                sent = e.Id ?? sent;
            }
        }
        finally
        {
            _subscribers.Remove(subscriber);
            if (sse.IsShuttingDown)
            {
                // The watch is stopping: send what is queued (the last round lands just before the stop), then say so,
                // so the page stops reconnecting. A page that does not read gets a second.
                EventLoop loop = EventLoop.GetRunningLoop();
                await new CancelScope(deadline: loop.Time() + 1, shield: true).RunAsync(async () =>
                {
                    try
                    {
                        while (subscriber.Queue.TryGet(out FeedEvent e))
                        {
                            if (e.Id is not { } id || id > sent)
                            {
                                await sse.SendAsync(e.Data, e.Name, e.Id?.ToString(CultureInfo.InvariantCulture));
                                sent = e.Id ?? sent;
                            }
                        }
                        await sse.SendAsync("{\"reason\":\"aio watch is stopping\"}", "bye");
                    }
                    catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException)
                    {
                        // The page went away at the same moment: nothing to say goodbye to.
                    }
                });
            }
        }
    }

    /// <summary>Aio.Http's log into the watch's log (the access log left out: one line per request is noise here).</summary>
    private sealed class OneLoggerFactory(ILogger logger) : ILoggerFactory
    {
        public ILogger CreateLogger(string categoryName) => categoryName == "Aio.Http.Access" ? NullLogger.Instance : logger;

        public void AddProvider(ILoggerProvider provider)
        {
        }

        public void Dispose()
        {
        }
    }
}
