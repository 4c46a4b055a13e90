using System.Text.Json;
using Aio.Cli.Tour;
using Aio.Examples.HttpClient;

namespace Aio.Http.Tests.Client;

/// <summary>examples/HttpClient under test: the jobs client against the local jobs API (src/Aio.Cli/Tour, compiled into the example), and the bundled data set's provenance.</summary>
public sealed class ExampleTests
{
    [Fact]
    public void FetchThreeAsync_LocalApi_TakesAboutOneDelayAndMergesNewestFirst()
    {
        // Real sockets on virtual time: the API's delay is a loop sleep, so three overlapping requests take exactly one
        // delay of loop time (one after the other would take three), however loaded the machine is.
        var loop = new EventLoop(new VirtualClock { ForeignWaitThreshold = 2 });
        (List<Job> jobs, double seconds) = AioTest.RunOn(loop, async () =>
        {
            (HttpServer server, string api) = await JobsApiServer.StartAsync();
            await using (server)
            {
                return await JobsClient.FetchThreeAsync(api, ["python", "csharp", "go"]);
            }
        });
        Assert.Equal(JobsApiServer.DefaultDelay, seconds);
        Assert.Equal(180, jobs.Count);
        Assert.Equal(["csharp", "go", "python"], jobs.Select(j => j.Technology).Distinct().Order());
        Assert.Equal(jobs.Select(j => j.Posted).OrderDescending(), jobs.Select(j => j.Posted));
    }

    [Fact]
    public void JobsApi_DelayOptionAndUnknownPath_AnswerAsDocumented()
    {
        var loop = new EventLoop(new VirtualClock { ForeignWaitThreshold = 2 });
        var seen = AioTest.RunOn(loop, async () =>
        {
            (HttpServer server, string api) = await JobsApiServer.StartAsync();
            await using (server)
            {
                await using var session = new ClientSession();
                var lines = new List<string>();
                foreach (string target in new[] { "/jobs?technology=rust&delay=0.25", "/jobs?delay=0", "/nope" })
                {
                    double start = EventLoop.GetRunningLoop().Time();
                    await using ClientResponse r = await session.GetAsync(api + target);
                    string body = await r.TextAsync();
                    int count = r.Status == 200 && body.StartsWith('[') ? JsonSerializer.Deserialize<List<Job>>(body, JsonSerializerOptions.Web)!.Count : -1;
                    lines.Add($"{target} {r.Status} {count} {EventLoop.GetRunningLoop().Time() - start}");
                }
                return lines;
            }
        });
        Assert.Equal(["/jobs?technology=rust&delay=0.25 200 60 0.25", "/jobs?delay=0 200 360 0", "/nope 404 -1 0"], seen);
    }

    [Fact]
    public void JobsData_BundledFile_IsWhatTheGeneratorMakes()
    {
        Assert.Equal(
            JsonSerializer.Serialize(JobsData.Generate(), JsonSerializerOptions.Web),
            JsonSerializer.Serialize(JobsData.Load(), JsonSerializerOptions.Web));
    }
}
