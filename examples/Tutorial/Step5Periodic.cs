using System.Runtime.InteropServices;
using Aio;
using static Aio.Asyncio;

namespace Aio.Examples.Tutorial;

/// <summary>
/// Step 5: a periodic HEAD check of a web site driven by RunForever, stopped by Ctrl+C with a graceful
/// shutdown that lets the check in flight finish. In the tour the program sends itself the SIGINT after
/// a few checks (a real signal, as Ctrl+C sends); run it alone with <c>-- 5 --wait-for-ctrl-c</c> to press Ctrl+C yourself.
/// </summary>
public static class Step5Periodic
{
    public static async Task CheckForever(HttpClient http, string url, double interval)
    {
        for (int n = 1; ; n++)
        {
            // The check runs shielded: a shutdown waits for it instead of cutting it off.
            AioTask<string> check = CreateTask(async () =>
            {
                using var request = new HttpRequestMessage(HttpMethod.Head, url);
                using HttpResponseMessage response = await http.SendAsync(request);
                return $"{(int)response.StatusCode} {response.ReasonPhrase}";
            }, $"check-{n}");
            try
            {
                Console.WriteLine($"  check {n}: {await Shield(check)}");
            }
            catch (CancelledError)
            {
                // Shutting down: the check in flight finishes (a shielded scope may await), then we stop.
                string last = await new CancelScope(shield: true).RunAsync(async () => await check, "");
                Console.WriteLine($"  check {n} (in flight at shutdown): {last}");
                throw;
            }
            await Sleep(interval);
        }
    }

    public static void Run(bool waitForCtrlC)
    {
        using var loop = new EventLoop();
        (Server server, string baseUrl) = loop.RunUntilComplete(LocalWebServer.StartAsync);
        using var http = new HttpClient();
        AioTask periodic = loop.CreateTask(() => CheckForever(http, baseUrl + "/health", 2.0), "periodic-check");

        bool interrupted = false;
        loop.AddSignalHandler(PosixSignal.SIGINT, () =>
        {
            interrupted = true;
            Console.WriteLine("  ^C received: stopping");
            loop.Stop();
        });
        if (!waitForCtrlC)
        {
            // Unattended tour: press "Ctrl+C" (a real SIGINT to this process) in the middle of the third check.
            loop.CallLater(6.5, () => System.Diagnostics.Process.Start("kill", $"-INT {Environment.ProcessId}")!.Dispose());
        }
        else
        {
            Console.WriteLine("  press Ctrl+C to stop");
        }

        loop.RunForever();

        // Graceful shutdown: cancel the periodic task (its check in flight still finishes), close the web
        // site (its connection handlers are cancelled), then wait for every remaining task before closing.
        Console.WriteLine($"  shutting down: {loop.AllTasks().Count} task(s) pending (interrupted: {interrupted})");
        periodic.Cancel();
        loop.RunUntilComplete(async () =>
        {
            await Wait([periodic]);          // the check in flight completes first; Wait never throws
            await server.DisposeAsync();     // then the site closes, cancelling its connection handlers
            AioTask<bool>[] waits = loop.AllTasks()
                .Where(t => !ReferenceEquals(t, CurrentTask()))
                .Select(t => loop.CreateTask(async () => { await t; return true; }))
                .ToArray();
            Outcome<bool>[] outcomes = await GatherSettled(waits);
            Console.WriteLine($"  periodic task cancelled: {periodic.Cancelled}; {outcomes.Length} other task(s) finished");
        });
        loop.RemoveSignalHandler(PosixSignal.SIGINT);
    }
}
