using Aio;
using static Aio.Asyncio;

namespace Aio.Examples.Tutorial;

/// <summary>Step 1: a coroutine is a plain async method; a loop runs it.</summary>
public static class Step1Greet
{
    public static async Task<string> Greet(string name)
    {
        await Sleep(0.1);                       // suspends this task; the loop runs others meanwhile
        return $"Hello, {name}!";
    }

    public static void Run()
    {
        // Asyncio.Run: a new loop, run Greet as the main task, clean up, close the loop.
        string greeting = Asyncio.Run(() => Greet("Aio"));
        Console.WriteLine(greeting);

        // The same by hand, with an explicit loop:
        using var loop = new EventLoop();
        Console.WriteLine(loop.RunUntilComplete(() => Greet("loop")));
    }
}
