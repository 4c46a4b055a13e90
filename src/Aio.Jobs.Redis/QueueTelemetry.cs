using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Aio.Jobs.Redis;

/// <summary>
/// The task queue's metrics, on the <see cref="System.Diagnostics.Metrics.Meter"/> named <c>Aio.Jobs.Redis</c> (tags <c>queue</c> and <c>job</c>):
/// <c>aio.queue.enqueued</c>, <c>aio.queue.started</c>, <c>aio.queue.succeeded</c>, <c>aio.queue.retried</c>,
/// <c>aio.queue.dead</c>, <c>aio.queue.revoked</c>, <c>aio.queue.handed_back</c>, <c>aio.queue.refused</c> (counters),
/// <c>aio.queue.running</c> (up-down counter), <c>aio.queue.wait</c> (enqueue to start, s) and <c>aio.queue.duration</c> (s) histograms.
/// </summary>
public static class QueueTelemetry
{
    /// <summary>The meter's name.</summary>
    public const string MeterName = "Aio.Jobs.Redis";

    private static readonly Meter s_meter = new(MeterName);
    private static readonly Counter<long> s_enqueued = s_meter.CreateCounter<long>("aio.queue.enqueued", "{job}", "Jobs enqueued (duplicates by idempotency key not counted).");
    private static readonly Counter<long> s_started = s_meter.CreateCounter<long>("aio.queue.started", "{job}", "Attempts started.");
    private static readonly Counter<long> s_succeeded = s_meter.CreateCounter<long>("aio.queue.succeeded", "{job}", "Jobs that succeeded.");
    private static readonly Counter<long> s_retried = s_meter.CreateCounter<long>("aio.queue.retried", "{job}", "Failed attempts scheduled for a retry.");
    private static readonly Counter<long> s_dead = s_meter.CreateCounter<long>("aio.queue.dead", "{job}", "Jobs dead-lettered after their last attempt.");
    private static readonly Counter<long> s_revoked = s_meter.CreateCounter<long>("aio.queue.revoked", "{job}", "Running jobs revoked.");
    private static readonly Counter<long> s_handedBack = s_meter.CreateCounter<long>("aio.queue.handed_back", "{job}", "Jobs a stopping worker handed back.");
    private static readonly Counter<long> s_refused = s_meter.CreateCounter<long>("aio.queue.refused", "{job}", "Acknowledgements refused: the attempt's lease was lost and its fencing token is stale.");
    private static readonly UpDownCounter<long> s_running = s_meter.CreateUpDownCounter<long>("aio.queue.running", "{job}", "Attempts running now.");
    private static readonly Histogram<double> s_wait = s_meter.CreateHistogram<double>("aio.queue.wait", "s", "From enqueue to the start of an attempt.");
    private static readonly Histogram<double> s_duration = s_meter.CreateHistogram<double>("aio.queue.duration", "s", "How long an attempt ran.");

    private static TagList Tags(string queue, string job) => new() { { "queue", queue }, { "job", job } };

    internal static void Enqueued(string queue, string job) => s_enqueued.Add(1, Tags(queue, job));

    internal static void Started(string queue, string job, double wait)
    {
        TagList tags = Tags(queue, job);
        s_started.Add(1, tags);
        s_running.Add(1, tags);
        s_wait.Record(wait, tags);
    }

    internal static void Finished(string queue, string job, double duration)
    {
        TagList tags = Tags(queue, job);
        s_running.Add(-1, tags);
        s_duration.Record(duration, tags);
    }

    internal static void Succeeded(string queue, string job) => s_succeeded.Add(1, Tags(queue, job));

    internal static void Retried(string queue, string job) => s_retried.Add(1, Tags(queue, job));

    internal static void Dead(string queue, string job) => s_dead.Add(1, Tags(queue, job));

    internal static void Revoked(string queue, string job) => s_revoked.Add(1, Tags(queue, job));

    internal static void HandedBack(string queue, string job) => s_handedBack.Add(1, Tags(queue, job));

    internal static void Refused(string queue, string job) => s_refused.Add(1, Tags(queue, job));
}
