using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace Aio.Tests.Sync;

/// <summary>
/// Random interleavings of put/get/cancel/shutdown on an AioQueue, checked against a model: the multiset
/// of items. Steps run back to back within one loop iteration until a "yield" step, so wake-ups and
/// cancellations land in every window, including "woken but not yet running".
/// </summary>
public sealed class QueuePropertyTests
{
    private enum Op
    {
        SpawnPut,
        SpawnGet,
        TryPut,
        TryGet,
        CancelOldest,
        CancelNewest,
        Yield,
        Shutdown,
        ShutdownImmediate,
    }

    [Property(MaxTest = 300)]
    public bool RandomInterleavings_ConserveItems_NoLossNoDuplicateNoCancelledInsert(byte maxsize, byte[] script)
    {
        int bound = maxsize % 4; // 0 (unbounded) .. 3
        Op[] ops = script.Select(b => (Op)(b % 9)).Take(60).ToArray();

        var inserted = new List<int>();     // values known to be in the queue at some point (successful puts)
        var got = new List<int>();          // values taken out
        var cancelledPuts = new List<int>();
        int discarded = 0;
        bool sawShutdownImmediate = false;
        int next = 0;

        TestLoop.Run(async () =>
        {
            var q = new AioQueue<int>(bound);
            var live = new List<AioTask>();
            foreach (Op op in ops)
            {
                live.RemoveAll(t => t.Done);
                switch (op)
                {
                    case Op.SpawnPut:
                    {
                        int v = next++;
                        live.Add(Asyncio.CreateTask(async () =>
                        {
                            try
                            {
                                await q.PutAsync(v);
                                inserted.Add(v);
                            }
                            catch (CancelledError)
                            {
                                cancelledPuts.Add(v);
                                throw;
                            }
                            catch (QueueShutDownException)
                            {
                            }
                        }));
                        break;
                    }
                    case Op.SpawnGet:
                        live.Add(Asyncio.CreateTask(async () =>
                        {
                            try
                            {
                                got.Add(await q.GetAsync());
                            }
                            catch (QueueShutDownException)
                            {
                            }
                        }));
                        break;
                    case Op.TryPut:
                        try
                        {
                            int v = next++;
                            if (q.TryPut(v))
                            {
                                inserted.Add(v);
                            }
                        }
                        catch (QueueShutDownException)
                        {
                        }
                        break;
                    case Op.TryGet:
                        if (q.TryGet(out int x))
                        {
                            got.Add(x);
                        }
                        break;
                    case Op.CancelOldest when live.Count > 0:
                        live[0].Cancel();
                        break;
                    case Op.CancelNewest when live.Count > 0:
                        live[^1].Cancel();
                        break;
                    case Op.Yield:
                        await Asyncio.Sleep(0);
                        break;
                    case Op.Shutdown:
                        q.Shutdown();
                        break;
                    case Op.ShutdownImmediate:
                        discarded += q.Count;
                        sawShutdownImmediate = true;
                        q.Shutdown(immediate: true);
                        break;
                }
                Assert.True(bound == 0 || q.Count <= bound, $"{q} holds more than its maxsize.");
            }
            // Settle: shut down (blocked putters and getters finish), drain what is left, wait for every task.
            q.Shutdown();
            for (int i = 0; i < 10; i++)
            {
                await Asyncio.Sleep(0);
            }
            while (q.TryGet(out int rest))
            {
                got.Add(rest);
            }
            foreach (AioTask t in live)
            {
                Assert.True(t.Done, $"{t} never finished after shutdown.");
            }
        });

        // Model: every value taken out was put exactly once and was never a cancelled put; with no immediate
        // shutdown, every inserted value comes out exactly once.
        bool noDuplicates = got.Distinct().Count() == got.Count;
        bool onlyInserted = got.All(inserted.Contains);
        bool noCancelledInsert = !cancelledPuts.Intersect(inserted).Any() && !cancelledPuts.Intersect(got).Any();
        bool conserved = sawShutdownImmediate ? got.Count + discarded >= inserted.Count : got.OrderBy(v => v).SequenceEqual(inserted.OrderBy(v => v));
        return noDuplicates && onlyInserted && noCancelledInsert && conserved;
    }

    [Property(MaxTest = 100)]
    public bool NoCancellation_EachConsumerSeesFifoOrderAndAllItemsArrive(byte maxsize, PositiveInt consumerCount, byte[] yields)
    {
        // Items are assigned to getters strictly in put order; each consumer therefore sees increasing values,
        // and a single consumer sees exactly the put order. (Across consumers, an item promised to a woken
        // consumer is recorded when that consumer runs, so the interleaving of records is not global FIFO.)
        int bound = 1 + maxsize % 3;
        int n = 1 + consumerCount.Get % 5;
        var got = new List<int>();
        var perConsumer = Enumerable.Range(0, n).Select(_ => new List<int>()).ToArray();
        TestLoop.Run(async () =>
        {
            var q = new AioQueue<int>(bound);
            AioTask producer = Asyncio.CreateTask(async () =>
            {
                for (int i = 0; i < n * 4; i++)
                {
                    await q.PutAsync(i);
                    if (yields.Length > 0 && yields[i % yields.Length] % 2 == 0)
                    {
                        await Asyncio.Sleep(0);
                    }
                }
                q.Shutdown();
            });
            var consumers = Enumerable.Range(0, n).Select(c => Asyncio.CreateTask(async () =>
            {
                await foreach (int x in q)
                {
                    got.Add(x);
                    perConsumer[c].Add(x);
                }
            })).ToArray();
            await producer;
            await Asyncio.Gather(consumers);
        });
        bool eachIncreasing = perConsumer.All(seq => seq.Zip(seq.Skip(1)).All(p => p.First < p.Second));
        bool allArrived = got.OrderBy(v => v).SequenceEqual(Enumerable.Range(0, n * 4));
        return eachIncreasing && allArrived && (n > 1 || got.SequenceEqual(Enumerable.Range(0, n * 4)));
    }
}
