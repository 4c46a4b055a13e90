using System.Diagnostics.Metrics;
using System.Diagnostics.Tracing;

namespace Aio.Internal;

/// <summary>
/// Aio's EventSource ("Aio"): what <c>dotnet-trace collect --providers Aio</c> sees. Events are written from
/// the watchdog thread, never from the loop's hot path.
/// </summary>
[EventSource(Name = "Aio")]
internal sealed class AioEventSource : EventSource
{
    public static readonly AioEventSource Log = new();

    private AioEventSource()
    {
    }

    /// <summary>A loop has been running one callback or task step for longer than its watchdog threshold.</summary>
    [Event(1, Level = EventLevel.Warning, Message = "Event loop {0} blocked for {2} seconds in {1}")]
    public void LoopBlocked(int loopId, string item, double seconds)
    {
        if (IsEnabled())
        {
            WriteEvent(1, loopId, item, seconds);
        }
    }

    /// <summary>A blocked loop came back.</summary>
    [Event(2, Level = EventLevel.Informational, Message = "Event loop {0} unblocked after {2} seconds in {1}")]
    public void LoopUnblocked(int loopId, string item, double seconds)
    {
        if (IsEnabled())
        {
            WriteEvent(2, loopId, item, seconds);
        }
    }
}

/// <summary>Aio's metrics: the "Aio" <see cref="Meter"/> (<c>dotnet-counters monitor --counters Aio</c>).</summary>
internal static class AioMetrics
{
    public static readonly Meter Meter = new("Aio");

    /// <summary>Incremented once per blocked episode the watchdog notices; tag <c>aio.loop</c> is the loop's number.</summary>
    public static readonly Counter<long> LoopBlocked = Meter.CreateCounter<long>(
        "aio.loop.blocked", unit: "{episode}", description: "Times an event loop ran one callback or task step for longer than its watchdog threshold.");
}
