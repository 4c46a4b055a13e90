using Aio.LowLevel;
using Aio.Sync.Internal;

namespace Aio.Tests.Sync;

/// <summary>Primitives with many holders or waiters leaving out of order keep their order and their hang reports.</summary>
public sealed class ManyWaitersTests
{
    [Fact]
    public void DumpTasks_ManyHoldersReleasedOutOfOrderAndReplaced_ListsHoldersOldestFirst()
    {
        string report = "";
        var sem = new AioSemaphore(12);
        TestLoop.Run(async () =>
        {
            var release = new Dictionary<string, AioEvent>();
            var tasks = new List<AioTask>();
            AioTask Holder(string name, bool explicitRelease = false)
            {
                release[name] = new AioEvent();
                return Asyncio.CreateTask(async () =>
                {
                    var permit = await sem.AcquireAsync();
                    await release[name].WaitAsync();
                    if (explicitRelease)
                    {
                        sem.Release();
                    }
                    else
                    {
                        permit.Dispose();
                    }
                }, name);
            }
            for (int i = 0; i < 12; i++)
            {
                tasks.Add(Holder($"h{i}", explicitRelease: i % 4 == 1));
            }
            await TestLoop.Spin(2);
            foreach (int i in new[] { 9, 1, 5, 0, 11 })
            {
                release[$"h{i}"].Set();
            }
            await TestLoop.Spin(3);
            for (int i = 0; i < 5; i++)
            {
                tasks.Add(Holder($"n{i}")); // reuse the freed slots, but are newer than every h
            }
            await TestLoop.Spin(2);
            tasks.Add(Asyncio.CreateTask(async () => { using (await sem.AcquireAsync()) { } }, "waiter"));
            await TestLoop.Spin(2);
            report = EventLoop.GetRunningLoop().DumpTasks();
            foreach (AioEvent e in release.Values)
            {
                e.Set();
            }
            await Asyncio.Gather(tasks.ToArray());
            Assert.Equal(12, sem.Value);
        });
        string holders = string.Join(", ", new[] { 2, 3, 4, 6, 7, 8, 10 }.Select(i => $"Task 'h{i}'").Concat(Enumerable.Range(0, 5).Select(i => $"Task 'n{i}'")));
        string line = report.ReplaceLineEndings("\n").Split('\n').Single(l => l.Contains("Task 'waiter'", StringComparison.Ordinal)).Trim();
        Assert.Equal($"Task 'waiter' waits to acquire {((IWaitTarget)sem).Label} <AioSemaphore [locked, waiters:1]>, held by {holders}", line);
    }

    [Fact]
    public void PutAsync_ManyPuttersSomeCancelledWhileParked_TheRestPutInOrder()
    {
        var got = new List<int>();
        TestLoop.Run(async () =>
        {
            var q = new AioQueue<int>(1);
            q.PutNowait(-1);
            var putters = new List<AioTask>();
            for (int i = 0; i < 30; i++)
            {
                int k = i;
                putters.Add(Asyncio.CreateTask(async () => await q.PutAsync(k)));
            }
            await TestLoop.Spin(2);
            for (int i = 29; i >= 0; i -= 3)
            {
                putters[i].Cancel(); // cancelled while parked, newest first: each leaves from the middle
            }
            await TestLoop.Spin(2);
            for (int i = 0; i < 21; i++)
            {
                got.Add(await q.GetAsync());
            }
            await Asyncio.Wait(putters);
            Assert.Equal(0, q.Count);
        });
        var expected = new List<int> { -1 };
        expected.AddRange(Enumerable.Range(0, 30).Where(i => i % 3 != 2));
        Assert.Equal(expected, got);
    }

    [Fact]
    public void PutAsync_MoreParkingsThanPutNumbers_WrapsAndKeepsEveryItemInOrder()
    {
        // Put numbers (the ValueTask tokens) wrap at 2^16: 70,000 puts into a full queue park one after another.
        var got = new List<int>();
        int parked = 0;
        TestLoop.Run(async () =>
        {
            var q = new AioQueue<int>(1);
            AioTask producer = Asyncio.CreateTask(async () =>
            {
                for (int i = 0; i < 70_000; i++)
                {
                    parked += q.Full ? 1 : 0;
                    await q.PutAsync(i);
                }
            });
            for (int i = 0; i < 70_000; i++)
            {
                got.Add(await q.GetAsync());
            }
            await producer;
        });
        Assert.Equal(Enumerable.Range(0, 70_000), got);
        Assert.True(parked > ushort.MaxValue, $"only {parked} puts parked: the put numbers did not wrap");
    }
}
