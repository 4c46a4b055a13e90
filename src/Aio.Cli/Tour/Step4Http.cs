using System.Diagnostics;
using Aio.Http;
using static Aio.Asyncio;

namespace Aio.Cli.Tour;

/// <summary>
/// Step 4: three HTTP requests made concurrently and gathered, their results flattened into one list — the tutorial's
/// jobs search. The jobs API is local (Aio.Http's server on 127.0.0.1 and a free port, each answer delayed by
/// <see cref="JobsApiServer.DefaultDelay"/> s) unless <c>aio tour 4 --api URL</c> names another one; the client is Aio.Http's
/// <see cref="ClientSession"/>, whose every await resumes on the loop and obeys the task's cancel scope.
/// </summary>
internal static class Step4Http
{
    public static readonly string[] Technologies = ["python", "csharp", "go"];

    // One request: the postings for one technology, and how long the request took.
    public static async Task<(List<Job> Jobs, double Seconds)> FetchJobs(ClientSession session, string api, string technology)
    {
        EventLoop loop = EventLoop.GetRunningLoop();
        double start = loop.Time();
        await using ClientResponse response = await session.GetAsync($"{api}/jobs", new() { Query = [new("technology", technology)] });
        response.RaiseForStatus();
        List<Job> jobs = await response.JsonAsync<List<Job>>() ?? [];
        return (jobs, loop.Time() - start);
    }

    // Three requests at once, gathered (results in argument order), then flattened into one list.
    public static async Task<(List<Job> Jobs, double Seconds)> ThreeRequestsTogether(string api, TextWriter output)
    {
        await using var session = new ClientSession();
        EventLoop loop = EventLoop.GetRunningLoop();
        double start = loop.Time();
        (List<Job> Jobs, double Seconds)[] results = await Gather(Technologies
            .Select(t => CreateTask(() => FetchJobs(session, api, t), $"fetch-{t}"))
            .ToArray());
        double together = loop.Time() - start;
        for (int i = 0; i < Technologies.Length; i++)
        {
            output.WriteLine($"  {Technologies[i],-7} {results[i].Jobs.Count,3} postings in {results[i].Seconds:0.00} s");
        }
        output.WriteLine($"  the three together: {together:0.00} s, about as long as the slowest ({results.Max(r => r.Seconds):0.00} s), not their sum ({results.Sum(r => r.Seconds):0.00} s)");
        List<Job> merged = results.SelectMany(r => r.Jobs).ToList();
        return (merged, together);
    }

    // The step: start the local jobs API unless --api names one, query it, print the merged list.
    public static async Task<(List<Job> Jobs, double Seconds)> SearchJobs(string? api, TextWriter output)
    {
        HttpServer? local = null;
        if (api is null)
        {
            (local, api) = await JobsApiServer.StartAsync();
            output.WriteLine($"  local jobs API on {api} (each answer takes {JobsApiServer.DefaultDelay:0.0} s)");
        }
        try
        {
            return await ThreeRequestsTogether(api.TrimEnd('/'), output);
        }
        finally
        {
            if (local is not null)
            {
                await local.ShutdownAsync(1);
            }
        }
    }

    public static void Run(TourContext tour)
    {
        var wall = Stopwatch.StartNew();
        (List<Job> jobs, double seconds) = tour.Run(() => SearchJobs(tour.Api, tour.Out));
        tour.Out.WriteLine($"  merged list: {jobs.Count} postings ({string.Join(", ", jobs.CountBy(j => j.Technology).Select(c => $"{c.Value} {c.Key}"))}); the newest:");
        foreach (Job job in jobs.OrderByDescending(j => j.Posted).Take(6))
        {
            tour.Out.WriteLine($"    {job.Posted}  {job.Title,-42} {job.Company,-20} {job.Location}{(job.Remote ? " (remote)" : "")}");
        }
        tour.Out.WriteLine($"elapsed: {seconds:0.00} s for three requests made together ({wall.Elapsed.TotalSeconds:0.00} s wall)");
    }
}
