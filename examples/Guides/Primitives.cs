using Aio;

namespace Aio.Examples.Guides;

/// <summary>docs/primitives.md: a lock, an event, a condition, semaphores, a barrier and a queue, on virtual time.</summary>
public static class PrimitivesGuide
{
    static int counter;
    static long processed;

    public static void Run()
    {
        foreach ((string name, Func<Task> body) in new (string, Func<Task>)[]
        {
            ("lock", LockAsync), ("event", EventAsync), ("condition", ConditionAsync),
            ("semaphore", SemaphoreAsync), ("barrier", BarrierAsync), ("queue", QueueAsync),
        })
        {
            using var loop = new EventLoop(new VirtualClock()) { HangDetection = true };
            loop.RunUntilComplete(body);
            Console.WriteLine($"{name}: done");
        }
    }

    static async Task LockAsync()
    {
        var lk = new AioLock();
        AioTask[] tasks = Enumerable.Range(0, 10).Select(_ => Asyncio.CreateTask(async () =>
        {
            using (await lk.AcquireAsync())
            {
                int c = counter;
                await Asyncio.Sleep(0);
                counter = c + 1;
            }
        })).ToArray();
        await Asyncio.Gather(tasks);   // counter is 10: no increment lost
        Console.WriteLine($"counter: {counter}");
    }

    static async Task EventAsync()
    {
        var ev = new AioEvent();
        AioTask waiter = Asyncio.CreateTask(async () => { await ev.WaitAsync(); Console.WriteLine("woken"); });
        await Asyncio.Sleep(0);   // the waiter starts and waits
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
        Console.WriteLine($"condition waiter got {await waiter}");
    }

    static async Task SemaphoreAsync()
    {
        var s = new AioSemaphore(2);               // value < 0 → ArgumentOutOfRangeException
        using (await s.AcquireAsync())
        {
            // at most two tasks here
        }
        var b = new AioBoundedSemaphore(2);
        try
        {
            b.Release();                               // InvalidOperationException: above the initial value
        }
        catch (InvalidOperationException e)
        {
            Console.WriteLine($"bounded semaphore: {e.Message}");
        }
    }

    static async Task BarrierAsync()
    {
        var b = new AioBarrier(3);
        var tasks = Enumerable.Range(0, 3).Select(_ => Asyncio.CreateTask(() => b.WaitAsync())).ToArray();
        int[] indices = await Asyncio.Gather(tasks);   // 0, 1, 2 in arrival order; the barrier is reusable
        Console.WriteLine($"barrier indices: {string.Join(", ", indices)}");
    }

    static async Task QueueAsync()
    {
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
        Console.WriteLine($"queue: {processed} items processed");
    }

    static void Process(int item) => processed += item >= 0 ? 1 : 0;
}
