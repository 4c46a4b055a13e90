using System.Diagnostics;
using Aio;
using static Aio.Asyncio;

namespace Aio.Examples.Tutorial;

/// <summary>Step 2: awaiting one sleep after another takes the sum of their durations.</summary>
public static class Step2Sequential
{
    public static async Task<double> FiveSleepsOneByOne()
    {
        EventLoop loop = EventLoop.GetRunningLoop();
        double start = loop.Time();
        for (int i = 1; i <= 5; i++)
        {
            await Sleep(1);
            Console.WriteLine($"  sleep {i} done at {loop.Time() - start:0.0} s");
        }
        return loop.Time() - start;
    }

    public static void Run()
    {
        var wall = Stopwatch.StartNew();
        double loopTime = Asyncio.Run(FiveSleepsOneByOne);
        Console.WriteLine($"elapsed: {loopTime:0.00} s of loop time ({wall.Elapsed.TotalSeconds:0.00} s wall)");
    }
}
