// The guides' examples: the code blocks of docs/*.md come from these files (docs/hosting.md's from
// examples/Hosting); tests/Aio.Tests/Docs/DocsTests.cs checks that every block is found here.
// Virtual time keeps most of the run to a few seconds.
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
    ("simulation", SimulationGuide.Run),
    ("primitives", PrimitivesGuide.Run),
    ("debugging-hangs", DebuggingHangsGuide.Run),
    ("networking", NetworkingGuide.Run),
    ("processes", ProcessesGuide.Run),
    ("signals", SignalsGuide.Run),
    ("threads", ThreadsGuide.Run),
    ("lowlevel", CustomPrimitiveGuide.Run),
    ("websockets", WebSocketsGuide.Run),
    ("sse", ServerSentEventsGuide.Run),
};

IEnumerable<(string Name, Action Run)> chosen = args.Length > 0 ? guides.Where(g => args.Contains(g.Name)) : guides;
foreach ((string name, Action run) in chosen)
{
    Console.WriteLine($"== {name}");
    run();
    Console.WriteLine();
}
