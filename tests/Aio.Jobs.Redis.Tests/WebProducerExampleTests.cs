using System.Diagnostics;
using System.Net;
using System.Text.Json;

namespace Aio.Jobs.Redis.Tests;

/// <summary>
/// examples/JobsRedis's producer web endpoint (Aio.Http) and two workers as real processes on a private Redis:
/// jobs posted over HTTP take effect once each, a repeated POST is a no-op, and SIGTERM stops the web process cleanly.
/// </summary>
public sealed class WebProducerExampleTests : IDisposable
{
    private readonly List<Process> _processes = [];
    private readonly RedisServer _server = RedisServer.Start(appendOnly: false);

    private Process Start(string mode, params string[] args)
    {
        Process p = JobsRedisProcess.Start(_server, "web", "web:", mode, args);
        _processes.Add(p);
        return p;
    }

    [Fact]
    public async Task PostedJobs_TakeEffectOnceEach_DuplicatePostIsANoOp()
    {
        foreach (string name in new[] { "w1", "w2" })
        {
            Process w = Start("worker", "--name", name, "--concurrency", "4", "--work-ms", "5");
            Assert.Equal($"READY {name}", await w.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(60)));
        }
        Process web = Start("web", "--port", "0");
        string? ready = await web.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(60));
        Assert.StartsWith("READY ", ready);
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{ready!["READY ".Length..]}") };

        var statuses = new List<HttpStatusCode>();
        for (int i = 0; i < 20; i++)
        {
            statuses.Add((await http.PostAsync($"/jobs/{i}", null)).StatusCode);
        }
        HttpResponseMessage again = await http.PostAsync("/jobs/7", null);
        Assert.Equal(Enumerable.Repeat(HttpStatusCode.Accepted, 20), statuses);
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        string id = JsonDocument.Parse(await again.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString()!;

        using ConnectionMultiplexer redis = _server.Connect();
        IDatabase db = redis.GetDatabase();
        var clock = Stopwatch.StartNew();
        while (await db.SetLengthAsync("web:effects") < 20)
        {
            Assert.True(clock.Elapsed.TotalSeconds < 60, $"only {await db.SetLengthAsync("web:effects")} of 20 effects after 60 s");
            await Task.Delay(50);
        }
        // A handler records its effect before its job's success is recorded (one more round trip): wait for the queue
        // to show every job finished, within the same deadline.
        const string finished = """{"queued":0,"running":0,"delayed":0,"dead":0}""";
        string stats = await http.GetStringAsync("/stats");
        while (stats != finished && clock.Elapsed.TotalSeconds < 60)
        {
            await Task.Delay(50);
            stats = await http.GetStringAsync("/stats");
        }
        Assert.Equal(finished, stats);
        using JsonDocument job = JsonDocument.Parse(await http.GetStringAsync($"/jobs/{id}"));
        Assert.Equal("Succeeded", job.RootElement.GetProperty("state").GetString());
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("/jobs/no-such-job")).StatusCode);

        using (Process kill = Process.Start("kill", ["-TERM", web.Id.ToString()])!)
        {
            await kill.WaitForExitAsync();
        }
        Assert.True(web.WaitForExit(TimeSpan.FromSeconds(20)), "the web producer did not stop on SIGTERM");
        Assert.Equal(0, web.ExitCode);
    }

    public void Dispose()
    {
        foreach (Process p in _processes)
        {
            if (!p.HasExited)
            {
                p.Kill();
                p.WaitForExit();
            }
            p.Dispose();
        }
        _server.Dispose();
    }
}
