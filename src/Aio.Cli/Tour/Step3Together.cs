using System.Diagnostics;
using static Aio.Asyncio;

namespace Aio.Cli.Tour;

/// <summary>Step 3: five tasks sleeping at the same time finish together, in about one second.</summary>
internal static class Step3Together
{
    public static async Task<double> FiveSleepsTogether(TextWriter output)
    {
        EventLoop loop = EventLoop.GetRunningLoop();
        double start = loop.Time();
        AioTask<int>[] tasks = Enumerable.Range(1, 5)
            .Select(i => CreateTask(async () => { await Sleep(1); return i; }, $"sleeper-{i}"))
            .ToArray();
        int[] done = await Gather(tasks);       // results in argument order
        output.WriteLine($"  gathered {string.Join(", ", done)}");
        return loop.Time() - start;
    }

    public static void Run(TourContext tour)
    {
        var wall = Stopwatch.StartNew();
        double loopTime = tour.Run(() => FiveSleepsTogether(tour.Out));
        tour.Out.WriteLine($"elapsed: {loopTime:0.00} s of loop time ({wall.Elapsed.TotalSeconds:0.00} s wall)");
    }
}
