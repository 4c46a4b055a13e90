using System.Runtime.InteropServices;
using Aio;
using static Aio.Asyncio;

namespace Aio.Examples.Guides;

/// <summary>docs/signals-and-shutdown.md: a signal handler on the loop.</summary>
public static class SignalsGuide
{
    public static void Run()
    {
        int reloads = 0;
        Asyncio.Run(async () =>
        {
            AioTask waiter = CreateTask(() => ReloadOnSighupAsync(() => reloads++));
            await Sleep(0.05);
            waiter.Cancel();   // the handler was installed and is removed again; tests send a real SIGHUP
        });
        Console.WriteLine($"reloads: {reloads}");
    }

    public static async Task ReloadOnSighupAsync(Action reload)
    {
        EventLoop loop = EventLoop.GetRunningLoop();
        loop.AddSignalHandler(PosixSignal.SIGHUP, reload);   // runs on the loop thread, like CallSoon
        try
        {
            await Sleep(3600);
        }
        finally
        {
            loop.RemoveSignalHandler(PosixSignal.SIGHUP);    // the default action is back
        }
    }
}
