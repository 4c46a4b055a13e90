using System.Diagnostics;

namespace Aio.Jobs.Redis.Tests;

/// <summary>examples/JobsRedis's demo (the snippets of docs/distributed-jobs.md) as a real process against a private Redis.</summary>
public sealed class JobsRedisExampleTests(RedisFixture redis) : IClassFixture<RedisFixture>
{
    [Fact]
    public async Task Demo_PrintsResultsAndRunsEachHeartbeatTickOnce()
    {
        var info = new ProcessStartInfo(ExampleProgram.Dotnet) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in new[] { ExampleProgram.Find("JobsRedis"), "demo", "--redis", $"127.0.0.1:{redis.Server.Port}" })
        {
            info.ArgumentList.Add(a);
        }
        using Process p = Process.Start(info)!;
        Task<string> errors = p.StandardError.ReadToEndAsync();
        string output = await p.StandardOutput.ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(60));
        Assert.True(p.WaitForExit(TimeSpan.FromSeconds(10)));
        string stderr = await errors;
        Assert.True(p.ExitCode == 0, $"exit {p.ExitCode}: {stderr}");
        string[] lines = output.TrimEnd().Split('\n');
        Assert.Equal(
        [
            "ada: sent to ada by a worker on attempt 1",
            "flaky-bob: sent to flaky-bob by a worker on attempt 2",
            "cy: sent to cy by a worker on attempt 1",
            "ada: sent to ada by a worker on attempt 1",
            "queued=0 running=0 delayed=0 dead=0",
        ], lines[..5]);
        Assert.Matches(@"^two schedulers, [34] heartbeat ticks: each ran once: True$", lines[5]);
        Assert.Equal(6, lines.Length);
    }
}
