using System.Diagnostics.Metrics;

namespace Aio.Http.Client.Internal;

/// <summary>
/// The client's own instruments, meter <c>Aio.Http.Client</c>: only what .NET's <c>System.Net.Http</c> meter does not
/// already measure (it has request durations, active requests and open connections per hop).
/// </summary>
internal static class ClientMetrics
{
    public static readonly Meter Meter = new("Aio.Http.Client");

    /// <summary>Seconds a request waited in the session's overall or per-host queue (only requests that waited).</summary>
    public static readonly Histogram<double> QueueDuration = Meter.CreateHistogram<double>(
        "aio.http.client.queue.duration", "s", "Time requests waited for a place in a ClientSession's connection limits.");

    /// <summary>Redirects followed.</summary>
    public static readonly Counter<long> Redirects = Meter.CreateCounter<long>(
        "aio.http.client.redirects", "{redirect}", "Redirects a ClientSession followed.");
}
