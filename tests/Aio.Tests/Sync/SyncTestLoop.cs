namespace Aio.Tests.Sync;

/// <summary>Runs a test body on a fresh loop with a virtual clock (autojumps when idle), then closes it.</summary>
internal static class SyncTestLoop
{
    public static void Run(Func<Task> body, bool hangDetection = true)
    {
        var loop = new EventLoop(new VirtualClock()) { HangDetection = hangDetection };
        try
        {
            loop.RunUntilComplete(body);
        }
        finally
        {
            loop.Close();
        }
    }

    public static T Run<T>(Func<Task<T>> body)
    {
        var loop = new EventLoop(new VirtualClock()) { HangDetection = true };
        try
        {
            return loop.RunUntilComplete(body);
        }
        finally
        {
            loop.Close();
        }
    }

    /// <summary>Yields <paramref name="n"/> loop iterations.</summary>
    public static async Task Spin(int n = 5)
    {
        for (int i = 0; i < n; i++)
        {
            await Asyncio.Sleep(0);
        }
    }
}
