// The tutorial tour: each step of the asyncio tutorial, in Aio. Offline; everything runs locally.
//   dotnet run --project examples/Tutorial -c Release          (all steps)
//   dotnet run --project examples/Tutorial -c Release -- 2     (one step)
//   dotnet run --project examples/Tutorial -c Release -- 5 --wait-for-ctrl-c   (step 5, stopped by your own Ctrl+C)
//   dotnet run --project examples/Tutorial -c Release -- 4 --api URL           (step 4 against another jobs API)
using Aio.Examples.Tutorial;

int apiAt = Array.IndexOf(args, "--api");
string? api = apiAt >= 0 && apiAt + 1 < args.Length ? args[apiAt + 1] : null;

var steps = new (string Title, Action Run)[]
{
    ("1. A coroutine run on a loop", Step1Greet.Run),
    ("2. Five one-second sleeps, awaited one by one (about 5 s)", Step2Sequential.Run),
    ("3. The same five sleeps awaited together (about 1 s)", Step3Together.Run),
    ("4. Three queries of a jobs API made concurrently with ClientSession, gathered and flattened (local API, 1 s each)", () => Step4Http.Run(api)),
    ("5. A periodic HEAD check as an Aio.Jobs job, stopped by Ctrl+C with a graceful shutdown",
        () => Step5Periodic.Run(waitForCtrlC: args.Contains("--wait-for-ctrl-c"))),
};

IEnumerable<int> chosen = args.Where((a, i) => !a.StartsWith("--", StringComparison.Ordinal) && (i == 0 || args[i - 1] != "--api")).Select(int.Parse).DefaultIfEmpty().ToList() is var picked && picked.Any(n => n > 0)
    ? picked.Where(n => n > 0)
    : Enumerable.Range(1, steps.Length);
foreach (int n in chosen)
{
    (string title, Action run) = steps[n - 1];
    Console.WriteLine($"== {title}");
    run();
    Console.WriteLine();
}
