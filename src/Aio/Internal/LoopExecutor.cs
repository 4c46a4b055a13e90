// LoopExecutor: the loop's default executor (asyncio's default ThreadPoolExecutor).
//
// Design note. A bounded pool of dedicated background threads, created on demand up to MaxThreads and
// retired after IdleTimeout without work. Why not the .NET ThreadPool: executor work is, by its nature,
// blocking (file system calls, CPU-bound loops, synchronous libraries); on the shared pool it would
// starve the runtime's own I/O completions and timers, and a hung item could not be named at shutdown.
// Dedicated threads are named "Aio executor #N", carry the item they run for diagnostics, and are
// background threads, so a hung one cannot keep the process alive after Main returns.
//
// Lifetime. Submit queues an item (the loop counts it in _pendingExternal so a VirtualClock does not
// jump past it). A worker runs it in the ExecutionContext captured at submission and posts its outcome
// back to the loop (TryPostItem: a closed loop drops it). Shutdown stops new submissions; workers finish
// what is queued, then exit; the returned task completes when the last worker is gone.
using System.Diagnostics;

namespace Aio.Internal;

/// <summary>A bounded pool of dedicated worker threads. Thread-safe.</summary>
internal sealed class LoopExecutor
{
    /// <summary>How long an idle worker waits for work before it exits.</summary>
    internal static readonly TimeSpan IdleTimeout = TimeSpan.FromSeconds(10);

    private static int s_threadNumbers;

    private readonly object _lock = new();
    private readonly Queue<ExecutorItem> _queue = new();          // guarded by _lock
    private readonly HashSet<ExecutorItem> _running = new();      // items on a worker now; guarded by _lock
    private readonly TaskCompletionSource _allExited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _maxThreads;      // the bound; changes apply to threads started later
    private int _threads;         // live workers
    private int _idle;            // workers waiting in Monitor.Wait
    private bool _shutdown;       // no more submissions; workers exit once the queue is empty

    public LoopExecutor(int maxThreads) => _maxThreads = maxThreads;

    public int MaxThreads
    {
        get => Volatile.Read(ref _maxThreads);
        set => Volatile.Write(ref _maxThreads, value);
    }

    public bool IsShutDown
    {
        get
        {
            lock (_lock)
            {
                return _shutdown;
            }
        }
    }

    /// <summary>Live worker threads (for tests and diagnostics).</summary>
    public int ThreadCount
    {
        get
        {
            lock (_lock)
            {
                return _threads;
            }
        }
    }

    /// <summary>Queues <paramref name="item"/>; false when the executor is shut down.</summary>
    public bool TrySubmit(ExecutorItem item)
    {
        bool startThread;
        lock (_lock)
        {
            if (_shutdown)
            {
                return false;
            }
            _queue.Enqueue(item);
            if (_idle > 0)
            {
                Monitor.Pulse(_lock);
                startThread = false;
            }
            else
            {
                startThread = _threads < _maxThreads;
                if (startThread)
                {
                    _threads++;
                }
            }
        }
        if (startThread)
        {
            var thread = new Thread(static s => ((LoopExecutor)s!).WorkerLoop())
            {
                IsBackground = true,
                Name = $"Aio executor #{Interlocked.Increment(ref s_threadNumbers)}",
            };
            thread.UnsafeStart(this);
        }
        return true;
    }

    /// <summary>Stops new submissions; the task completes when every worker has finished the queue and exited.</summary>
    public Task Shutdown()
    {
        lock (_lock)
        {
            _shutdown = true;
            Monitor.PulseAll(_lock);
            if (_threads == 0)
            {
                _allExited.TrySetResult();
            }
        }
        return _allExited.Task;
    }

    /// <summary>Descriptions of the items running now ("Aio executor #3 running Program.Hash for 12.0 s").</summary>
    public List<string> DescribeRunning()
    {
        lock (_lock)
        {
            var list = new List<string>(_running.Count);
            foreach (ExecutorItem item in _running)
            {
                list.Add($"{item.ThreadName} running {item.Describe()} for {Stopwatch.GetElapsedTime(item.StartedAt).TotalSeconds:0.0} s");
            }
            return list;
        }
    }

    private void WorkerLoop()
    {
        while (true)
        {
            ExecutorItem item;
            lock (_lock)
            {
                while (_queue.Count == 0 && !_shutdown)
                {
                    _idle++;
                    bool pulsed = Monitor.Wait(_lock, IdleTimeout);
                    _idle--;
                    if (!pulsed && _queue.Count == 0)
                    {
                        break;
                    }
                }
                if (_queue.Count == 0)
                {
                    _threads--;
                    if (_threads == 0 && _shutdown)
                    {
                        _allExited.TrySetResult();
                    }
                    return;
                }
                item = _queue.Dequeue();
                item.ThreadName = Thread.CurrentThread.Name;
                item.StartedAt = Stopwatch.GetTimestamp();
                _running.Add(item);
            }
            try
            {
                item.Execute();
            }
            finally
            {
                lock (_lock)
                {
                    _running.Remove(item);
                }
            }
        }
    }
}

/// <summary>One unit of executor work: runs on a worker, then posts its outcome to its loop.</summary>
internal abstract class ExecutorItem
{
    internal string? ThreadName;   // the worker running it; set under the executor's lock
    internal long StartedAt;       // Stopwatch timestamp at start; set under the executor's lock

    /// <summary>Runs the work on the worker thread (must not throw).</summary>
    public abstract void Execute();

    /// <summary>The work's method name, for diagnostics.</summary>
    public abstract string Describe();
}
