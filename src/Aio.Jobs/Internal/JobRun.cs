using System.Diagnostics;
using Aio;

namespace Aio.Jobs;

/// <summary>
/// One run of a job: an Aio task that claims the tick from the store, runs the job's body (inside a cancel
/// scope with the run's deadline when the job has a timeout), classifies how it ended, completes the claim,
/// and reports to the job. Exceptions never escape the task: the outcome is the report.
/// </summary>
internal sealed class JobRun(Job job, JobContext context, Scheduler scheduler)
{
    private static readonly Func<JobRun, Task<bool>> s_execute = static run => run.ExecuteAsync();
    private bool _bodyStarted;          // the task's first step ran
    private bool _reported;             // OnRunCompleted was called
    private string? _cancelReason;      // set when the scheduler cancels the run
    private CancelScope? _timeoutScope; // the run's deadline scope, when the job has a timeout

    public Job Job => job;

    public JobContext Context => context;

    public AioTask? Task { get; private set; }

    public void Start() => Task = scheduler.Loop.CreateTask(s_execute, this, job.Name);

    /// <summary>Cancels the run (a stop's grace period ended, or a newer run supersedes it).</summary>
    public void Cancel(string reason)
    {
        if (_reported || Task is null)
        {
            return;
        }
        _cancelReason ??= reason;
        Task.Cancel($"Job '{job.Name}' run {context.RunNumber} cancelled: {reason}.");
        if (!_bodyStarted)
        {
            // A task cancelled before its first step never runs its body: report for it.
            Report(JobOutcome.Cancelled, null, 0);
        }
    }

    private void Report(JobOutcome outcome, Exception? error, double duration)
    {
        _reported = true;
        job.OnRunCompleted(this, outcome, error, duration);
    }

    private async Task<bool> ExecuteAsync()
    {
        _bodyStarted = true;
        EventLoop loop = scheduler.Loop;
        double start = loop.Time();
        JobsTelemetry.RunStarted(job.Name, start - context.ScheduledTime);
        JobsLog.RunStarted(scheduler.Logger, job.Name, context.RunNumber, context.ScheduledTime, start - context.ScheduledTime);
        using Activity? activity = JobsTelemetry.StartRunActivity(context);
        context.CancellationToken = Asyncio.CurrentToken;
        JobOutcome outcome;
        Exception? error = null;
        JobLease? lease = null;
        try
        {
            TimeSpan leaseDuration = job.Options.Timeout ?? scheduler.Options.LeaseDuration;
            lease = await scheduler.Store.TryClaimAsync(new JobTick(job.Name, context.ScheduledAt, context.IsManual), scheduler.Options.InstanceId, leaseDuration, context.CancellationToken);
            if (lease is null)
            {
                outcome = JobOutcome.NotClaimed;
                JobsLog.NotClaimed(scheduler.Logger, job.Name, context.ScheduledAt);
            }
            else
            {
                context.Lease = lease;
                if (lease.AbandonedRuns > 0)
                {
                    job.OnAbandonedRuns(context, lease.AbandonedRuns);
                }
                if (job.Options.Timeout is TimeSpan timeout)
                {
                    _timeoutScope = new CancelScope(deadline: start + timeout.TotalSeconds);
                    context.CancellationToken = _timeoutScope.Token;
                    await _timeoutScope.RunAsync(() => job.Body(context));
                    outcome = _timeoutScope.DeadlineReached ? JobOutcome.TimedOut : JobOutcome.Succeeded;
                }
                else
                {
                    await job.Body(context);
                    outcome = JobOutcome.Succeeded;
                }
            }
        }
        catch (OperationCanceledException) when (_cancelReason is not null)
        {
            outcome = JobOutcome.Cancelled;
        }
        catch (Exception e) when (_timeoutScope is { DeadlineReached: true } && _cancelReason is null)
        {
            outcome = JobOutcome.TimedOut;
            error = e;
        }
        catch (Exception e)
        {
            outcome = _cancelReason is not null ? JobOutcome.Cancelled : JobOutcome.Failed;
            error = e;
        }
        double duration = loop.Time() - start;
        if (lease is not null)
        {
            await CompleteClaimAsync(lease, outcome);
        }
        switch (outcome)
        {
            case JobOutcome.Succeeded:
                JobsLog.RunSucceeded(scheduler.Logger, job.Name, context.RunNumber, duration);
                break;
            case JobOutcome.Failed:
                JobsLog.RunFailed(scheduler.Logger, error!, job.Name, context.RunNumber, duration);
                break;
            case JobOutcome.TimedOut:
                JobsLog.RunTimedOut(scheduler.Logger, job.Name, context.RunNumber, job.Options.Timeout!.Value.TotalSeconds);
                break;
            case JobOutcome.Cancelled:
                JobsLog.RunCancelled(scheduler.Logger, job.Name, context.RunNumber, _cancelReason ?? "its task was cancelled");
                break;
        }
        JobsTelemetry.RunFinished(job.Name, outcome, duration, activity, error);
        Report(outcome, error, duration);
        return true;
    }

    private async Task CompleteClaimAsync(JobLease lease, JobOutcome outcome)
    {
        try
        {
            ValueTask completion = scheduler.Store.CompleteAsync(lease, outcome, CancellationToken.None);
            if (completion.IsCompleted)
            {
                completion.GetAwaiter().GetResult();
            }
            else
            {
                // A store that really awaits: finish the claim even if the run was cancelled.
                await new CancelScope(shield: true).RunAsync(() => completion.AsTask());
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            JobsLog.StoreCompleteFailed(scheduler.Logger, e, job.Name, lease.Tick.ScheduledAt);
        }
    }

    public override string ToString() => $"<JobRun '{job.Name}' #{context.RunNumber}>";
}
