using Microsoft.Extensions.Logging;

namespace Aio.Jobs.Redis.Tests;

/// <summary>A worker's log messages of a job are in a scope naming the queue, the job's id and name, and the attempt.</summary>
public sealed class WorkerLoggingTests(RedisFixture redis) : IClassFixture<RedisFixture>
{
    /// <summary>Records each message with the scopes open around it.</summary>
    private sealed class ScopeLogger : ILogger
    {
        private readonly AsyncLocal<ImmutableStack?> _scopes = new();

        public List<string> Lines { get; } = [];

        private sealed record ImmutableStack(object State, ImmutableStack? Next);

        private sealed class Pop(ScopeLogger logger, ImmutableStack? previous) : IDisposable
        {
            public void Dispose() => logger._scopes.Value = previous;
        }

        public IDisposable BeginScope<TState>(TState state) where TState : notnull
        {
            ImmutableStack? previous = _scopes.Value;
            _scopes.Value = new ImmutableStack(state, previous);
            return new Pop(this, previous);
        }

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (eventId.Id is < 3111 or > 3118)
            {
                return;   // only the per-job messages
            }
            var scope = new List<string>();
            for (ImmutableStack? s = _scopes.Value; s is not null; s = s.Next)
            {
                if (s.State is IEnumerable<KeyValuePair<string, object>> pairs)
                {
                    scope.AddRange(pairs.Select(p => $"{p.Key}={p.Value}"));
                }
            }
            lock (Lines)
            {
                Lines.Add($"{eventId.Id} [{string.Join(" ", scope)}]");
            }
        }
    }

    [Fact]
    public void JobMessages_CarryJobIdNameAndAttemptInScope()
    {
        var logger = new ScopeLogger();
        string id = "";
        QueueKit.Run(async () =>
        {
            var queue = new JobQueue(redis.Redis, "logged", new JobQueueOptions { KeyPrefix = RedisFixture.Prefix() });
            var worker = new JobWorker(queue, QueueKit.Fast("w1") with { Logger = logger }).Handle<int>("job", (job, ct) =>
                job.Attempt == 1 ? throw new InvalidOperationException("first attempt fails") : Task.CompletedTask);
            JobHandle handle = await queue.EnqueueAsync("job", 1);
            id = handle.Id;
            await QueueKit.With(worker, () => handle.WaitAsync(TimeSpan.FromSeconds(10)));
            await queue.DisposeAsync();
        });
        Assert.Equal(
        [
            $"3111 [Queue=logged JobId={id} JobName=job Attempt=1]",   // started
            $"3113 [Queue=logged JobId={id} JobName=job Attempt=1]",   // failed, retrying
            $"3111 [Queue=logged JobId={id} JobName=job Attempt=2]",
            $"3112 [Queue=logged JobId={id} JobName=job Attempt=2]",   // succeeded
        ], logger.Lines);
    }
}
