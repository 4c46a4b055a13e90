// The guides' examples: every snippet of docs/loop.md, tasks.md, cancellation.md, time.md, testing.md,
// primitives.md and networking.md comes from these files. Virtual time keeps the whole run to a few seconds.
//   dotnet run --project examples/Guides -c Release            (all guides)
//   dotnet run --project examples/Guides -c Release -- time    (one guide)
using Aio.Examples.Guides;

var guides = new (string Name, Action Run)[]
{
    ("loop", LoopGuide.Run),
    ("tasks", TasksGuide.Run),
    ("cancellation", CancellationGuide.Run),
    ("time", TimeGuide.Run),
    ("testing", TestingGuide.Run),
    ("primitives", PrimitivesGuide.Run),
    ("networking", NetworkingGuide.Run),
};

IEnumerable<(string Name, Action Run)> chosen = args.Length > 0 ? guides.Where(g => args.Contains(g.Name)) : guides;
foreach ((string name, Action run) in chosen)
{
    Console.WriteLine($"== {name}");
    run();
    Console.WriteLine();
}
