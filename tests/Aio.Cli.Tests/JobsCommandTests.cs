using System.Text.Json;
using Aio.Jobs.Redis;
using Aio.Jobs.Redis.Tests;

namespace Aio.Cli.Tests;

/// <summary><c>aio jobs</c> against a private redis-server: queues, a job, dead letters, retry, purge.</summary>
public sealed class JobsCommandTests : IClassFixture<RedisFixture>
{
    private readonly RedisFixture _redis;

    public JobsCommandTests(RedisFixture redis) => _redis = redis;

    private CliResult Jobs(string prefix, params string[] args) =>
        CliHarness.Run(["jobs", "--redis", _redis.Server.Configuration, "--prefix", prefix, "--queue", "mail", .. args]);

    /// <summary>Queue "mail": one job waiting, one dead (failed its only attempt); queue "other": one job waiting.</summary>
    private (string Waiting, string Dead) Seed(string prefix) => AioTest.Run(async () =>
    {
        var options = new JobQueueOptions { KeyPrefix = prefix };
        await using var mail = new JobQueue(_redis.Redis, "mail", options);
        await using var other = new JobQueue(_redis.Redis, "other", options);
        JobHandle dead = await mail.EnqueueAsync("send", "boom", new EnqueueOptions { MaxRetries = 0 });
        var worker = new JobWorker(mail, new WorkerOptions { ConsumerName = "w1" })
            .Handle<string>("send", (_, _) => throw new InvalidOperationException("smtp refused"));
        AioTask running = CreateTask(() => worker.RunAsync(), "worker");
        while ((await mail.GetStatsAsync()).Dead == 0)
        {
            await Sleep(0.02);
        }
        await worker.StopAsync(TimeSpan.FromSeconds(5));
        await running;
        JobHandle waiting = await mail.EnqueueAsync("send", "later", new EnqueueOptions { Priority = JobPriority.High });
        await other.EnqueueAsync("x", 1);
        return (waiting.Id, dead.Id);
    }, virtualTime: false);

    [Fact]
    public void Jobs_QueuesShowDeadRetryPurge_AgainstRedis()
    {
        string prefix = RedisFixture.Prefix();
        (string waiting, string dead) = Seed(prefix);

        CliResult queues = Jobs(prefix, "queues", "--json");
        Assert.Equal(0, queues.ExitCode);
        Assert.Equal("""[{"queue":"mail","queued_high":1,"queued_normal":0,"queued_low":0,"running":0,"delayed":0,"dead":1},{"queue":"other","queued_high":0,"queued_normal":1,"queued_low":0,"running":0,"delayed":0,"dead":0}]""", queues.Out.Trim());

        CliResult show = Jobs(prefix, "show", dead);
        Assert.Equal(0, show.ExitCode);
        Assert.Contains("dead", show.Console, StringComparison.Ordinal);
        Assert.Contains("1 of 1", show.Console, StringComparison.Ordinal);
        Assert.Contains("dead: System.InvalidOperationException: smtp refused", show.Console, StringComparison.Ordinal);

        CliResult letters = Jobs(prefix, "dead", "--json");
        Assert.Equal($$"""[{"id":"{{dead}}","error":"System.InvalidOperationException: smtp refused","attempts":1}]""", letters.Out.Trim());

        CliResult notDead = Jobs(prefix, "retry", waiting);
        Assert.Equal(1, notDead.ExitCode);
        Assert.Equal($"aio: job {waiting} is queued, not dead: only a dead job can be retried.{Environment.NewLine}", notDead.Error);

        CliResult retry = Jobs(prefix, "retry", dead);
        Assert.Equal(0, retry.ExitCode);
        Assert.Contains($"job {dead} is queued again in 'mail' with fresh attempts", retry.Console, StringComparison.Ordinal);
        using (JsonDocument job = JsonDocument.Parse(Jobs(prefix, "show", "--json", dead).Out))
        {
            Assert.Equal(("queued", 0), (job.RootElement.GetProperty("state").GetString(), job.RootElement.GetProperty("attempts").GetInt32()));
            Assert.Equal("retried by hand after it was dead", job.RootElement.GetProperty("history").EnumerateArray().Last().GetProperty("event").GetString());
        }
        Assert.Equal("[]", Jobs(prefix, "dead", "--json").Out.Trim());

        CliResult unknown = Jobs(prefix, "show", "nope");
        Assert.Equal(1, unknown.ExitCode);
        Assert.Contains("job nope is not in queue 'mail'", unknown.Error, StringComparison.Ordinal);

        CliResult noTerminal = Jobs(prefix, "purge");
        Assert.Equal(2, noTerminal.ExitCode);
        Assert.Contains("pass --yes", noTerminal.Error, StringComparison.Ordinal);
        var asked = new List<string>();
        CliResult declined = CliHarness.Run(["jobs", "--redis", _redis.Server.Configuration, "--prefix", prefix, "-q", "mail", "purge"],
            confirm: question => { asked.Add(question); return false; });
        Assert.Equal(1, declined.ExitCode);
        Assert.Equal(["Delete every job of queue 'mail' (queued, running, delayed, dead, results)?"], asked);

        CliResult purged = Jobs(prefix, "purge", "--yes", "--json");
        Assert.Equal(0, purged.ExitCode);
        Assert.True(JsonDocument.Parse(purged.Out).RootElement.GetProperty("keys_deleted").GetInt64() > 0);
        Assert.Equal("""[{"queue":"other","queued_high":0,"queued_normal":1,"queued_low":0,"running":0,"delayed":0,"dead":0}]""", Jobs(prefix, "queues", "--json").Out.Trim());
    }

    [Fact]
    public void Jobs_RedisUnreachable_SaysWhereItLooked_Exit1()
    {
        CliResult r = CliHarness.Run(["jobs", "--redis", "redis://127.0.0.1:1", "queues"]);
        Assert.Equal(1, r.ExitCode);
        Assert.StartsWith("aio: cannot connect to Redis at 127.0.0.1:1,connectTimeout=3000,connectRetry=1: ", r.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("127.0.0.1:6379", "127.0.0.1:6379,connectTimeout=3000,connectRetry=1")]
    [InlineData("redis://h:7000/2", "h:7000,defaultDatabase=2,connectTimeout=3000,connectRetry=1")]
    [InlineData("redis://u:p%40ss@h", "h:6379,user=u,password=p@ss,connectTimeout=3000,connectRetry=1")]
    public void Configuration_FromARedisUrl(string url, string expected) => Assert.Equal(expected, Aio.Cli.Jobs.JobsCommand.Configuration(url));
}
