using System.Threading.Channels;

namespace Peers.DotNet;

/// <summary>One workload: its id, default size, unit, and whether its value is a rate or a wall time.</summary>
/// <param name="Id">W1..W5.</param>
/// <param name="DefaultN">Operations when --n is not given.</param>
/// <param name="Unit">The unit of the RESULT value.</param>
/// <param name="IsRate">True: the value is n / elapsed seconds; false: the value is the elapsed seconds.</param>
/// <param name="Run">Runs the workload at size n and returns whether its check passed.</param>
internal sealed record Workload(string Id, int DefaultN, string Unit, bool IsRate, Func<int, Task<bool>> Run);

/// <summary>
/// W1-W5 written with plain .NET: the thread pool is the scheduler, <see cref="Task.Yield"/>
/// is asyncio.sleep(0), <see cref="Task.Delay(int)"/> is asyncio.sleep(s), a bounded
/// <see cref="Channel"/> is asyncio.Queue, <see cref="SemaphoreSlim"/> is asyncio.Lock.
/// </summary>
internal static class Workloads
{
    // n = 100,000 -> 1,000 tasks; any n is split exactly.
    private const int W5AcquisitionsPerTask = 100;

    public static readonly Dictionary<string, Workload> All = new(StringComparer.Ordinal)
    {
        ["W1"] = new("W1", 1_000_000, "callbacks/s", true, W1CallbacksAsync),
        ["W2"] = new("W2", 100_000, "tasks/s", true, W2SpawnAsync),
        ["W3"] = new("W3", 100_000, "s", false, W3TimersAsync),
        ["W4"] = new("W4", 1_000_000, "items/s", true, W4QueueAsync),
        ["W5"] = new("W5", 100_000, "acquisitions/s", true, W5LockAsync),
    };

    // --- W1: thread-pool callbacks -------------------------------------------------------

    /// <summary>
    /// call_soon's analogue: <see cref="ThreadPool.UnsafeQueueUserWorkItem{TState}(Action{TState}, TState, bool)"/>
    /// with preferLocal false, i.e. the pool's global FIFO queue (a callback plus a state
    /// object, no ExecutionContext capture), as asyncio's ready queue is FIFO. The counter
    /// is incremented with Interlocked because pool callbacks may run on several threads.
    /// </summary>
    private static Task<bool> W1CallbacksAsync(int n)
    {
        var state = new W1State(n);
        for (int i = 0; i < n; i++)
        {
            ThreadPool.UnsafeQueueUserWorkItem(static s => s.Callback(), state, preferLocal: false);
        }

        return state.Done.Task;
    }

    private sealed class W1State(int n)
    {
        private int _count;

        public TaskCompletionSource<bool> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Callback()
        {
            if (Interlocked.Increment(ref _count) == n)
            {
                Done.SetResult(Volatile.Read(ref _count) == n);
            }
        }
    }

    // --- W2: spawn tasks that yield twice --------------------------------------------------

    private static async Task<int> W2ChildAsync(int i)
    {
        await Task.Yield();
        await Task.Yield();
        return i;
    }

    private static async Task<bool> W2SpawnAsync(int n)
    {
        var tasks = new Task<int>[n];
        for (int i = 0; i < n; i++)
        {
            tasks[i] = W2ChildAsync(i);
        }

        int[] results = await Task.WhenAll(tasks);
        long sum = 0;
        foreach (int r in results)
        {
            sum += r;
        }

        return sum == (long)n * (n - 1) / 2;
    }

    // --- W3: timers -----------------------------------------------------------------------------

    private static async Task W3SleeperAsync(int ms) => await Task.Delay(ms);

    private static async Task<bool> W3TimersAsync(int n)
    {
        uint x = 42;
        var tasks = new Task[n];
        for (int i = 0; i < n; i++)
        {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            tasks[i] = W3SleeperAsync((int)(x % 1001));
        }

        await Task.WhenAll(tasks);
        return true;
    }

    // --- W4: bounded queue --------------------------------------------------------------------

    private static async Task<bool> W4QueueAsync(int n)
    {
        var channel = Channel.CreateBounded<int>(new BoundedChannelOptions(100)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = true,
            SingleWriter = true,
        });

        async Task ProduceAsync()
        {
            for (int i = 0; i < n; i++)
            {
                await channel.Writer.WriteAsync(i);
            }
        }

        async Task<long> ConsumeAsync()
        {
            long total = 0;
            for (int i = 0; i < n; i++)
            {
                total += await channel.Reader.ReadAsync();
            }

            return total;
        }

        Task producer = ProduceAsync();
        Task<long> consumer = ConsumeAsync();
        await Task.WhenAll(producer, consumer);
        return await consumer == (long)n * (n - 1) / 2;
    }

    // --- W5: lock -----------------------------------------------------------------------------

    private static async Task<bool> W5LockAsync(int n)
    {
        using var gate = new SemaphoreSlim(1, 1);
        int counter = 0;

        async Task WorkerAsync(int acquisitions)
        {
            for (int i = 0; i < acquisitions; i++)
            {
                await gate.WaitAsync();
                try
                {
                    int value = counter;
                    await Task.Yield();
                    counter = value + 1;
                }
                finally
                {
                    gate.Release();
                }
            }
        }

        var workers = new Task[Math.Max(n / W5AcquisitionsPerTask, 1)];
        for (int t = 0; t < workers.Length; t++)
        {
            workers[t] = WorkerAsync((n / workers.Length) + (t < n % workers.Length ? 1 : 0));
        }

        await Task.WhenAll(workers);
        return counter == n;
    }
}
