// Aio.Http's client, ClientSession, against a local jobs API (or --api URL).
//   dotnet run --project examples/HttpClient -c Release                 the tour's step (d): three technologies at once
//   dotnet run --project examples/HttpClient -c Release -- guide        the snippets of docs/http-client.md
//   dotnet run --project examples/HttpClient -c Release -- generate-jobs src/Aio.Cli/Tour/data/jobs.json
using Aio;
using Aio.Examples.HttpClient;
using Aio.Cli.Tour;
using Aio.Http;
using static Aio.Asyncio;

string command = args.FirstOrDefault(a => !a.StartsWith("--", StringComparison.Ordinal)) ?? "jobs";
int apiAt = Array.IndexOf(args, "--api");
string? remoteApi = apiAt >= 0 && apiAt + 1 < args.Length ? args[apiAt + 1] : null;

if (command == "generate-jobs")
{
    JobsData.Write(args[1]);
    return;
}

Asyncio.Run(async () =>
{
    HttpServer? local = null;
    string api = remoteApi ?? "";
    if (remoteApi is null)
    {
        (local, api) = await JobsApiServer.StartAsync();
    }
    try
    {
        if (command == "guide")
        {
            await HttpClientGuide.FirstRequest(api);
            await HttpClientGuide.Json(api);
            await HttpClientGuide.Timeouts(api);
            await HttpClientGuide.PerHostLimit(api);
            string path = Path.GetTempFileName();
            await HttpClientGuide.Streaming(api, path);
            await HttpClientGuide.Upload(api, path);
            File.Delete(path);
            await HttpClientGuide.Tracing(api);
            await HttpClientGuide.Retries(api);
            return;
        }
        string[] technologies = ["python", "csharp", "go"];
        (List<Job> jobs, double seconds) = await JobsClient.FetchThreeAsync(api, technologies);
        Console.WriteLine($"{technologies.Length} requests together took {seconds:0.00} s (each takes {JobsApiServer.DefaultDelay:0.0} s on the local API)");
        foreach (Job job in jobs.Take(10))
        {
            Console.WriteLine($"  {job.Posted}  {job.Title,-45} {job.Company,-20} {job.Location}{(job.Remote ? " (remote)" : "")}");
        }
        Console.WriteLine($"  … {jobs.Count} postings in all");
    }
    finally
    {
        if (local is not null)
        {
            await local.DisposeAsync();
        }
    }
});
