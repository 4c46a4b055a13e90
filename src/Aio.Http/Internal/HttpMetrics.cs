using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Aio.Http.Internal;

/// <summary>
/// Request metrics (Meter "Aio.Http.Server") and traces (ActivitySource "Aio.Http.Server") with the names of
/// OpenTelemetry's HTTP semantic conventions. Costs nothing when nobody listens.
/// </summary>
internal static class HttpMetrics
{
    public const string Name = "Aio.Http.Server";
    private static readonly Meter s_meter = new(Name);
    private static readonly Histogram<double> s_duration = s_meter.CreateHistogram<double>(
        "http.server.request.duration", unit: "s", description: "Duration of HTTP server requests.",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10] });
    private static readonly UpDownCounter<long> s_active = s_meter.CreateUpDownCounter<long>(
        "http.server.active_requests", unit: "{request}", description: "Number of active HTTP server requests.");
    public static readonly ActivitySource Source = new(Name);

    public static void RequestStarted(string method)
    {
        if (s_active.Enabled)
        {
            s_active.Add(1, new KeyValuePair<string, object?>("http.request.method", method), new KeyValuePair<string, object?>("url.scheme", "http"));
        }
    }

    public static Activity? StartActivity(Request request)
    {
        if (!Source.HasListeners())
        {
            return null;
        }
        string? traceparent = request.Headers["traceparent"];
        ActivityContext parent = default;
        if (traceparent is not null)
        {
            ActivityContext.TryParse(traceparent, request.Headers["tracestate"], isRemote: true, out parent);
        }
        Activity? activity = Source.StartActivity(request.Method, ActivityKind.Server, parent);
        if (activity is not null && activity.IsAllDataRequested)
        {
            activity.SetTag("http.request.method", request.Method);
            activity.SetTag("url.path", request.Path);
            activity.SetTag("url.scheme", "http");
            activity.SetTag("network.protocol.version", request.Version == "HTTP/1.1" ? "1.1" : "1.0");
            if (request.QueryString.Length > 0)
            {
                activity.SetTag("url.query", request.QueryString);
            }
        }
        return activity;
    }

    public static void RequestDone(Request request, Activity? activity, int status, long startTimestamp)
    {
        string? route = request.MatchedRoute?.Template;
        if (activity is not null)
        {
            if (route is not null)
            {
                activity.DisplayName = request.Method + " " + route;
                activity.SetTag("http.route", route);
            }
            activity.SetTag("http.response.status_code", status);
            if (status >= 500 || status == 0)
            {
                activity.SetStatus(ActivityStatusCode.Error);
            }
            activity.Stop();
        }
        if (s_active.Enabled)
        {
            s_active.Add(-1, new KeyValuePair<string, object?>("http.request.method", request.Method), new KeyValuePair<string, object?>("url.scheme", "http"));
        }
        if (s_duration.Enabled)
        {
            var tags = new TagList
            {
                { "http.request.method", request.Method },
                { "url.scheme", "http" },
                { "network.protocol.version", request.Version == "HTTP/1.1" ? "1.1" : "1.0" },
            };
            if (status != 0)
            {
                tags.Add("http.response.status_code", status);
            }
            if (route is not null)
            {
                tags.Add("http.route", route);
            }
            s_duration.Record(Stopwatch.GetElapsedTime(startTimestamp).TotalSeconds, tags);
        }
    }
}
