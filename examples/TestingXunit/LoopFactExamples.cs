using Aio;
using Aio.Testing.Xunit;
using Xunit;
using Xunit.Abstractions;
using static Aio.Asyncio;

namespace TestingXunit;

public class RetryTests(ITestOutputHelper output)
{
    // The method is the main task of a fresh loop on a virtual clock: an hour of backoff takes no real time.
    [LoopFact(LoopTimeout = 7200)]
    public async AioTask Fetch_FailsTwice_RetriesAfterBackoff()
    {
        var attempts = new List<double>();
        EventLoop loop = EventLoop.GetRunningLoop();
        string reply = await RetryAsync(async () =>
        {
            attempts.Add(loop.Time());
            await Sleep(1);
            return attempts.Count < 3 ? throw new IOException("unreachable") : "ok";
        }, backoff: 600);
        Assert.Equal("ok", reply);
        Assert.Equal(new double[] { 0, 601, 1802 }, attempts);   // 600 s, then 1200 s of backoff
        output.WriteLine($"done at t={loop.Time()}");
    }

    // Each data row runs on its own loop, from t=0.
    [LoopTheory]
    [InlineData(1)]
    [InlineData(30)]
    public async Task WaitFor_SlowReply_TimesOutAtTheDeadline(double deadline)
    {
        AioTask<string> reply = CreateTask(async () =>
        {
            await Sleep(45);
            return "late";
        });
        await Assert.ThrowsAsync<TimeoutException>(() => WaitFor(reply, deadline));
        Assert.Equal(deadline, EventLoop.GetRunningLoop().Time());
    }

    // Real time when the test waits for the outside world (here a thread-pool timer).
    [LoopFact(RealTime = true, LoopTimeout = 10)]
    public async Task RealTime_AwaitsForeignWork()
    {
        await Task.Delay(20);
        Assert.True(EventLoop.GetRunningLoop().Time() > 0);
    }

    private static async Task<T> RetryAsync<T>(Func<Task<T>> attempt, double backoff)
    {
        for (int i = 0; ; i++)
        {
            try
            {
                return await attempt();
            }
            catch (IOException) when (i < 2)
            {
                await Sleep(backoff * (1 << i));
            }
        }
    }
}
