using Aio;
using Aio.Cli.Tour;
using Aio.Http;
using static Aio.Asyncio;

namespace Aio.Examples.HttpClient;

/// <summary>The client side of the tour's step (d): three queries of a jobs API at once, gathered and flattened.</summary>
internal static class JobsClient
{
    // Fetch one technology's postings: the session's limits, timeouts and the task's cancel scope apply.
    public static async Task<List<Job>> FetchJobsAsync(ClientSession session, string api, string technology)
    {
        await using ClientResponse response = await session.GetAsync($"{api}/jobs", new() { Query = [new("technology", technology)] });
        response.RaiseForStatus();
        return await response.JsonAsync<List<Job>>() ?? [];
    }

    // Three requests at once: they take about as long as the slowest, not the sum.
    public static async Task<(List<Job> Jobs, double Seconds)> FetchThreeAsync(string api, string[] technologies)
    {
        await using var session = new ClientSession();
        double start = EventLoop.GetRunningLoop().Time();
        List<Job>[] results = await Gather(technologies.Select(t => CreateTask(() => FetchJobsAsync(session, api, t))).ToArray());
        List<Job> merged = results.SelectMany(jobs => jobs).OrderByDescending(j => j.Posted).ToList();
        return (merged, EventLoop.GetRunningLoop().Time() - start);
    }
}
