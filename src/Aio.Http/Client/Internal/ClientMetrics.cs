using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Aio.Http.Client.Internal;

/// <summary>
/// The client's own instruments, meter and activity source <c>Aio.Http.Client</c>: only what .NET's
/// <c>System.Net.Http</c> instrumentation does not already give (it has a span, request durations, active requests and
/// open connections per hop). The session's span covers one call: its queueing, every redirect and retry (whose
/// System.Net.Http spans become its children) and the reading of the body.
/// </summary>
internal static class ClientMetrics
{
    public static readonly ActivitySource Source = new("Aio.Http.Client");

    public static readonly Meter Meter = new("Aio.Http.Client");

    /// <summary>Seconds a request waited in the session's overall or per-host queue (only requests that waited).</summary>
    public static readonly Histogram<double> QueueDuration = Meter.CreateHistogram<double>(
        "aio.http.client.queue.duration", "s", "Time requests waited for a place in a ClientSession's connection limits.");

    /// <summary>Redirects followed.</summary>
    public static readonly Counter<long> Redirects = Meter.CreateCounter<long>(
        "aio.http.client.redirects", "{redirect}", "Redirects a ClientSession followed.");
}
