using Aio;
using static Aio.Asyncio;

namespace Aio.Examples.Guides;

/// <summary>docs/threads.md: blocking work on an executor thread, and a coroutine submitted from another thread.</summary>
public static class ThreadsGuide
{
    public static void Run()
    {
        string file = Path.GetTempFileName();
        try
        {
            File.WriteAllText(file, "a\nb\nc\n");
            (int lines, int answer) = Asyncio.Run(async () =>
            {
                EventLoop loop = EventLoop.GetRunningLoop();
                int n = await CountLinesAsync(file);
                int a = await Task.Factory.StartNew(() => CallFromAnotherThread(loop), CancellationToken.None,
                    TaskCreationOptions.LongRunning, TaskScheduler.Default);
                return (n, a);
            });
            Console.WriteLine($"lines: {lines}, answer from another thread: {answer}");
        }
        finally
        {
            File.Delete(file);
        }
    }

    public static async Task<int> CountLinesAsync(string path)
    {
        // File.ReadLines blocks: run it on an executor thread; the loop keeps serving other tasks.
        return await ToThread(() => File.ReadLines(path).Count());
    }

    public static int CallFromAnotherThread(EventLoop loop) =>
        // Any thread: submit a coroutine to the loop and wait for its result.
        RunCoroutineThreadSafe(async () =>
        {
            await Sleep(0.01);
            return 42;
        }, loop).GetAwaiter().GetResult();
}
