using System.Diagnostics;
using static Aio.Asyncio;

namespace Aio.Cli.Tour;

/// <summary>Step 2: awaiting one sleep after another takes the sum of their durations.</summary>
internal static class Step2Sequential
{
    public static async Task<double> FiveSleepsOneByOne(TextWriter output)
    {
        EventLoop loop = EventLoop.GetRunningLoop();
        double start = loop.Time();
        for (int i = 1; i <= 5; i++)
        {
            await Sleep(1);
            output.WriteLine($"  sleep {i} done at {loop.Time() - start:0.0} s");
        }
        return loop.Time() - start;
    }

    public static void Run(TourContext tour)
    {
        var wall = Stopwatch.StartNew();
        double loopTime = tour.Run(() => FiveSleepsOneByOne(tour.Out));   // asyncio.run: a new loop for this main task
        tour.Out.WriteLine($"elapsed: {loopTime:0.00} s of loop time ({wall.Elapsed.TotalSeconds:0.00} s wall)");
    }
}
