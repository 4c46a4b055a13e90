namespace Aio.Jobs.Redis.Tests;

public sealed record AddArgs(int A, int B);

/// <summary>Helpers of the queue tests: they run on real-time loops, since Redis's clock measures delays and leases.</summary>
internal static class QueueKit
{
    public static void Run(Func<Task> body) => AioTest.Run(body, virtualTime: false);

    public static WorkerOptions Fast(string name, int concurrency = 4) => new()
    {
        ConsumerName = name,
        Concurrency = concurrency,
        Lease = TimeSpan.FromSeconds(2),
        PollInterval = TimeSpan.FromMilliseconds(200),
        RetryBaseDelay = TimeSpan.FromMilliseconds(50),
        RetryMaxDelay = TimeSpan.FromMilliseconds(200),
        StopGracePeriod = TimeSpan.FromSeconds(1),
        Random = new Random(1),
    };

    /// <summary>Runs <paramref name="worker"/> while <paramref name="body"/> runs, then stops it with <paramref name="grace"/> and waits.</summary>
    public static async Task With(JobWorker worker, Func<Task> body, TimeSpan? grace = null)
    {
        AioTask running = CreateTask(() => worker.RunAsync(), "worker");
        try
        {
            await body();
        }
        finally
        {
            worker.Stop(grace ?? TimeSpan.FromSeconds(1));
            await running;
        }
    }

    /// <summary>The texts of a job's history, without times and with the consumer names kept.</summary>
    public static async Task<string[]> History(JobQueue queue, string id) =>
        [.. (await queue.GetJobAsync(id))!.History.Select(h => h.Event)];
}
