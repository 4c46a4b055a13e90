using Aio;

namespace Aio.Examples.Guides;

/// <summary>docs/primitives.md: lock, event, condition, semaphores, barrier and queue, each in a few lines.</summary>
public static class PrimitivesGuide
{
    public static void Run()
    {
        using var loop = new EventLoop(new VirtualClock());
        loop.RunUntilComplete(async () =>
        {
            await LockAsync();
            await EventAsync();
            await ConditionAsync();
            await SemaphoresAsync();
            await SemaphoreFifoAsync();
            await BarrierAsync();
            await QueueAsync();
        });
    }

    static async Task LockAsync()
    {
        int counter = 0;
        var lk = new AioLock();
        AioTask[] tasks = Enumerable.Range(0, 10).Select(_ => Asyncio.CreateTask(async () =>
        {
            using (await lk.AcquireAsync())
            {
                int c = counter;
                await Asyncio.Sleep(0);   // other tasks run here, but none enters
                counter = c + 1;
            }
        })).ToArray();
        await Asyncio.Gather(tasks);      // counter == 10: no update lost
        Console.WriteLine($"lock: counter {counter}");
    }

    static async Task EventAsync()
    {
        var ev = new AioEvent();
        AioTask waiter = Asyncio.CreateTask(async () => { await ev.WaitAsync(); Console.WriteLine("event: woken"); });
        await Asyncio.Sleep(0);   // the waiter waits
        ev.Set();     // wakes every current waiter, in wait order
        ev.Clear();   // does not un-wake them
        await waiter;
    }

    static async Task ConditionAsync()
    {
        var c = new AioCondition();          // or new AioCondition(existingLock)
        int value = 0;
        AioTask<int> waiter = Asyncio.CreateTask(async () =>
        {
            using (await c.AcquireAsync())
            {
                return await c.WaitForAsync(() => value);   // returns the first "true" value (not default(T))
            }
        });
        using (await c.AcquireAsync())
        {
            value = 42;
            c.NotifyAll();
        }
        Console.WriteLine($"condition: {await waiter}");
    }

    static async Task SemaphoresAsync()
    {
        try
        {
            var s = new AioSemaphore(2);               // value < 0 → ArgumentOutOfRangeException
            using (await s.AcquireAsync())
            {
                // at most two tasks here
            }
            var b = new AioBoundedSemaphore(2);
            b.Release();                               // InvalidOperationException: above the initial value
        }
        catch (InvalidOperationException e)
        {
            Console.WriteLine($"semaphore: {e.Message}");
        }
    }

    static async Task SemaphoreFifoAsync()
    {
        var order = new List<string>();
        var s = new AioSemaphore(1);
        var held = await s.AcquireAsync();
        AioTask waiter = Asyncio.CreateTask(async () => { using (await s.AcquireAsync()) { order.Add("waiter"); } });
        await Asyncio.Sleep(0);                    // the waiter queues
        held.Dispose();                            // hands the permit to the waiter, which has not run yet
        Console.WriteLine($"semaphore: locked {s.Locked}");   // True: the permit is the waiter's
        using (await s.AcquireAsync())             // queues behind the waiter
        {
            order.Add("releaser");
        }
        await waiter;
        Console.WriteLine($"semaphore: {string.Join(", ", order)}");   // waiter, releaser
    }

    static async Task BarrierAsync()
    {
        var b = new AioBarrier(3);
        var tasks = Enumerable.Range(0, 3).Select(_ => Asyncio.CreateTask(() => b.WaitAsync())).ToArray();
        int[] indices = await Asyncio.Gather(tasks);   // 0, 1, 2 in arrival order; the barrier is reusable
        Console.WriteLine($"barrier: {string.Join(", ", indices)}");
    }

    static async Task QueueAsync()
    {
        long sum = 0;
        void Process(int item) => sum += item;
        var q = new AioQueue<int>(maxsize: 100);       // 0 or less: unbounded
        AioTask consumer = Asyncio.CreateTask(async () =>
        {
            await foreach (int item in q)              // ends when the queue is shut down and empty
            {
                Process(item);
                q.TaskDone();
            }
        });
        for (int i = 0; i < 1000; i++)
        {
            await q.PutAsync(i);                       // waits while full
        }
        await q.JoinAsync();                           // every item TaskDone'd
        q.Shutdown();
        await consumer;
        Console.WriteLine($"queue: sum {sum}");
    }
}
