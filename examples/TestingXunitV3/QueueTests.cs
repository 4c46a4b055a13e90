using Aio;
using Aio.Testing.Xunit;
using Xunit;
using static Aio.Asyncio;

namespace TestingXunitV3;

// xunit v3: the same [LoopFact] / [LoopTheory] as the v2 package, in the same namespace (Aio.Testing.Xunit).
public class QueueTests
{
    // A producer that takes 10 s per item: thirty seconds of virtual time, none of real time.
    [LoopFact]
    public async AioTask Consumer_SlowProducer_GetsEachItemWhenItIsPut()
    {
        var queue = new AioQueue<int>();
        AioTask producer = CreateTask(async () =>
        {
            for (int i = 1; i <= 3; i++)
            {
                await Sleep(10);
                await queue.PutAsync(i);
            }
        }, "producer");
        var got = new List<(int Item, double At)>();
        for (int i = 0; i < 3; i++)
        {
            int item = await queue.GetAsync();
            got.Add((item, EventLoop.GetRunningLoop().Time()));
        }
        await producer;
        Assert.Equal([(1, 10.0), (2, 20.0), (3, 30.0)], got);
        // v3's output helper of the running test: the loop's log and errors are written there too.
        TestContext.Current.TestOutputHelper?.WriteLine($"done at t={EventLoop.GetRunningLoop().Time()}");
    }

    // Each data row runs on its own loop, from t=0; a row that ran past LoopTimeout would fail as a timeout.
    [LoopTheory(LoopTimeout = 10)]
    [InlineData(1.25)]
    [InlineData(4.25)]
    public async Task MoveOnAfter_EndlessWork_StopsAtTheDeadline(double deadline)
    {
        int ticks = 0;
        bool finished = await MoveOnAfter(deadline, async () =>
        {
            while (true)
            {
                await Sleep(0.5);
                ticks++;
            }
        });
        Assert.Equal((false, deadline), (finished, EventLoop.GetRunningLoop().Time()));
        Assert.Equal((int)(deadline / 0.5), ticks);   // one tick every half second until then
    }
}
