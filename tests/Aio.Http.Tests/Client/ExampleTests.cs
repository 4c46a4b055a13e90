using System.Text.Json;
using Aio.Examples.HttpClient;

namespace Aio.Http.Tests.Client;

/// <summary>examples/HttpClient under test: the jobs client against the local jobs API, and the bundled data set's provenance.</summary>
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
            (Aio.Net.Server server, string api) = await LocalJobsApi.StartAsync();
            await using (server)
            {
                return await JobsClient.FetchThreeAsync(api, ["python", "csharp", "go"]);
            }
        });
        Assert.Equal(LocalJobsApi.Delay, seconds);
        Assert.Equal(180, jobs.Count);
        Assert.Equal(["csharp", "go", "python"], jobs.Select(j => j.Technology).Distinct().Order());
        Assert.Equal(jobs.Select(j => j.Posted).OrderDescending(), jobs.Select(j => j.Posted));
    }

    [Fact]
    public void JobsData_BundledFile_IsWhatTheGeneratorMakes()
    {
        Assert.Equal(
            JsonSerializer.Serialize(JobsData.Generate(), JsonSerializerOptions.Web),
            JsonSerializer.Serialize(JobsData.Load(), JsonSerializerOptions.Web));
    }
}
