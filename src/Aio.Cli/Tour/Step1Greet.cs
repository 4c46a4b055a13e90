using static Aio.Asyncio;

namespace Aio.Cli.Tour;

/// <summary>Step 1: a coroutine is a plain async method; a loop runs it.</summary>
internal static class Step1Greet
{
    public static async Task<string> Greet(string name)
    {
        await Sleep(0.1);                       // suspends this task; the loop runs others meanwhile
        return $"Hello, {name}!";
    }

    public static void Run(TourContext tour)
    {
        // Asyncio.Run: a new loop, run Greet as the main task, clean up, close the loop.
        string greeting = Asyncio.Run(() => Greet("Aio"));
        tour.Out.WriteLine(greeting);

        // The same by hand, with an explicit loop:
        using var loop = new EventLoop();
        tour.Out.WriteLine(loop.RunUntilComplete(() => Greet("loop")));
    }
}
