using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Aio.Jobs;

/// <summary>
/// Metrics (<c>Meter("Aio.Jobs")</c>) and traces (<c>ActivitySource("Aio.Jobs")</c>) of every scheduler in the
/// process. Each measurement is taken only while a listener is enabled, so an unobserved scheduler pays a
/// flag check per run.
/// </summary>
internal static class JobsTelemetry
{
    public const string Name = "Aio.Jobs";

    private static readonly Meter s_meter = new(Name);
    private static readonly ActivitySource s_source = new(Name);
    private static readonly Counter<long> s_runs = s_meter.CreateCounter<long>("aio.jobs.runs", "{run}", "Runs that ended, by job and outcome.");
    private static readonly Histogram<double> s_duration = s_meter.CreateHistogram<double>("aio.jobs.run.duration", "s", "How long runs took (loop time), by job and outcome.");
    private static readonly Histogram<double> s_lateness = s_meter.CreateHistogram<double>("aio.jobs.fire.lateness", "s", "How long after its tick (jitter included) a run started.");
    private static readonly Counter<long> s_skipped = s_meter.CreateCounter<long>("aio.jobs.ticks.skipped", "{tick}", "Ticks dropped by the overlap policy or a full queue.");
    private static readonly Counter<long> s_misfired = s_meter.CreateCounter<long>("aio.jobs.ticks.misfired", "{tick}", "Ticks found missed, by misfire policy.");
    private static readonly UpDownCounter<long> s_active = s_meter.CreateUpDownCounter<long>("aio.jobs.runs.active", "{run}", "Runs in progress.");

    public static void RunStarted(string job, double lateness)
    {
        if (s_lateness.Enabled)
        {
            s_lateness.Record(lateness, new KeyValuePair<string, object?>("job", job));
        }
        if (s_active.Enabled)
        {
            s_active.Add(1, new KeyValuePair<string, object?>("job", job));
        }
    }

    public static Activity? StartRunActivity(JobContext context)
    {
        if (!s_source.HasListeners())
        {
            return null;
        }
        Activity? activity = s_source.StartActivity($"job {context.Name}", ActivityKind.Internal);
        activity?.SetTag("aio.job.name", context.Name)
            .SetTag("aio.job.run", context.RunNumber)
            .SetTag("aio.job.scheduled_at", context.ScheduledAt.ToString("O", System.Globalization.CultureInfo.InvariantCulture))
            .SetTag("aio.job.manual", context.IsManual);
        return activity;
    }

    public static void RunFinished(string job, JobOutcome outcome, double duration, Activity? activity, Exception? error)
    {
        if (activity is not null)
        {
            activity.SetTag("aio.job.outcome", outcome.ToString());
            if (outcome is JobOutcome.Failed or JobOutcome.TimedOut)
            {
                activity.SetStatus(ActivityStatusCode.Error, error?.Message ?? outcome.ToString());
            }
        }
        var jobTag = new KeyValuePair<string, object?>("job", job);
        if (s_runs.Enabled || s_duration.Enabled)
        {
            var outcomeTag = new KeyValuePair<string, object?>("outcome", outcome.ToString());
            s_runs.Add(1, jobTag, outcomeTag);
            s_duration.Record(duration, jobTag, outcomeTag);
        }
        if (s_active.Enabled)
        {
            s_active.Add(-1, jobTag);
        }
    }

    public static void Skipped(string job)
    {
        if (s_skipped.Enabled)
        {
            s_skipped.Add(1, new KeyValuePair<string, object?>("job", job));
        }
    }

    public static void Misfired(string job, long count, MisfireKind policy)
    {
        if (s_misfired.Enabled)
        {
            s_misfired.Add(count, new KeyValuePair<string, object?>("job", job), new KeyValuePair<string, object?>("policy", policy.ToString()));
        }
    }
}
