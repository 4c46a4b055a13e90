// The tutorial tour: each step of the asyncio tutorial, in Aio. Offline; everything runs locally.
//   dotnet run --project examples/Tutorial -c Release          (all steps)
//   dotnet run --project examples/Tutorial -c Release -- 2     (one step)
using Aio.Examples.Tutorial;

var steps = new (string Title, Action Run)[]
{
    ("1. A coroutine run on a loop", Step1Greet.Run),
    ("2. Five one-second sleeps, awaited one by one (about 5 s)", Step2Sequential.Run),
    ("3. The same five sleeps awaited together (about 1 s)", Step3Together.Run),
};

IEnumerable<int> chosen = args.Length > 0 ? args.Select(int.Parse) : Enumerable.Range(1, steps.Length);
foreach (int n in chosen)
{
    (string title, Action run) = steps[n - 1];
    Console.WriteLine($"== {title}");
    run();
    Console.WriteLine();
}
