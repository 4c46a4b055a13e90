// LoopWatchdog: notices a loop stuck in one callback and says which.
//
// Design note. The loop publishes a heartbeat only while a watchdog is attached (on by default): before each
// ready item it stores what it is about to run and bumps a sequence number (one reference write and one
// Volatile.Write), and after each batch it stores null ("idle": about to wait in the poller, which is not
// blocking in the sense meant here). One background thread for the whole process (the sampler) samples every
// running loop's pair every quarter of the smallest threshold among them (at most once a second, and not at all
// while no watched loop runs). The same non-null item with the same sequence number on two samples means one item
// ran the whole time in between; once that reaches the threshold, the episode is reported once – logger (event
// id 110), EventSource "Aio" and the "aio.loop.blocked" counter – and its end is logged when the sequence moves
// on. The start time is the first sample that saw the item, so it is late by at most one sampling period.
// Reading a task's name and state from the sampler is racy by design: it is diagnostics.
using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Aio.Internal;

internal sealed class LoopWatchdog
{
    private readonly EventLoop _loop;
    private readonly int _loopId;
    private object? _current;        // written by the loop: what runs now (AioTask, Delegate, IScheduledCallback), null when idle
    private long _sequence;          // written by the loop: bumped per item and per idle mark (read with Volatile.Read)
    private double _threshold;       // seconds

    // The sampler's view of this loop (under the sampler's lock).
    private long _lastSequence = -1;
    private long _episodeStart;      // Stopwatch timestamp of the first sample that saw the current item
    private object? _reportedItem;   // the item of the episode already reported, until the sequence moves

    public LoopWatchdog(EventLoop loop, int loopId, double threshold)
    {
        _loop = loop;
        _loopId = loopId;
        _threshold = threshold;
    }

    public double Threshold
    {
        get => Volatile.Read(ref _threshold);
        set
        {
            Volatile.Write(ref _threshold, value);
            Sampler.Wake();
        }
    }

    /// <summary>Loop thread: about to run <paramref name="what"/> (a task, a delegate, or a timer/thread-safe handle).</summary>
    /// <remarks>
    /// The hot path of a watched loop. The reference is stored only when it changes (a burst of one callback, the
    /// steps of one task), which spares the GC write barrier; the sampler reads both fields racily (diagnostics).
    /// </remarks>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public void Beat(object? what)
    {
        _sequence++;
        if (!ReferenceEquals(_current, what))
        {
            _current = what;
        }
    }

    /// <summary>Loop thread: the batch is done; the loop is about to poll or stop.</summary>
    public void Idle()
    {
        _current = null;
        _sequence++;
    }

    /// <summary>Loop thread: a run starts; the sampler watches this loop until <see cref="Stop"/>.</summary>
    public void Start() => Sampler.Add(this);

    /// <summary>Loop thread: the run ended (or the loop closes, or the watchdog was turned off).</summary>
    public void Stop() => Sampler.Remove(this);

    /// <summary>One sample (sampler thread).</summary>
    private void Sample(long now)
    {
        long sequence = Volatile.Read(ref _sequence);
        object? current = Volatile.Read(ref _current);
        if (sequence != _lastSequence || current is null)
        {
            EndEpisode(now);
            _lastSequence = sequence;
            _episodeStart = now;
            return;
        }
        double seconds = Stopwatch.GetElapsedTime(_episodeStart, now).TotalSeconds;
        if (_reportedItem is null && seconds >= Threshold)
        {
            _reportedItem = current;
            ReportBlocked(current, seconds);
        }
    }

    private void EndEpisode(long now)
    {
        if (_reportedItem is not null)
        {
            ReportUnblocked(_reportedItem, Stopwatch.GetElapsedTime(_episodeStart, now).TotalSeconds);
            _reportedItem = null;
        }
    }

    /// <summary>The process-wide sampling thread: started with the first watched run, asleep while none is watched.</summary>
    private static class Sampler
    {
        private static readonly object s_gate = new();
        private static readonly List<LoopWatchdog> s_watched = new();   // guarded by s_gate
        private static bool s_started;                                  // guarded by s_gate

        public static void Add(LoopWatchdog watchdog)
        {
            lock (s_gate)
            {
                if (s_watched.Contains(watchdog))
                {
                    return;
                }
                watchdog._lastSequence = -1;
                watchdog._reportedItem = null;
                s_watched.Add(watchdog);
                if (!s_started)
                {
                    s_started = true;
                    var thread = new Thread(static () => Run()) { IsBackground = true, Name = "Aio watchdog" };
                    thread.UnsafeStart();
                }
                Monitor.PulseAll(s_gate);
            }
        }

        public static void Remove(LoopWatchdog watchdog)
        {
            lock (s_gate)
            {
                if (s_watched.Remove(watchdog))
                {
                    // A reported episode ends with the run (the sampler no longer looks at this loop).
                    watchdog.EndEpisode(Stopwatch.GetTimestamp());
                }
            }
        }

        public static void Wake()
        {
            lock (s_gate)
            {
                Monitor.PulseAll(s_gate);
            }
        }

        /// <remarks>Samples under the lock, so a run that ends (Remove) never races a sample; a report is rare.</remarks>
        private static void Run()
        {
            lock (s_gate)
            {
                while (true)
                {
                    while (s_watched.Count == 0)
                    {
                        Monitor.Wait(s_gate);
                    }
                    double threshold = double.MaxValue;
                    foreach (LoopWatchdog w in s_watched)
                    {
                        threshold = Math.Min(threshold, w.Threshold);
                    }
                    Monitor.Wait(s_gate, Math.Clamp((int)(threshold * 250), 5, 1000));
                    long now = Stopwatch.GetTimestamp();
                    foreach (LoopWatchdog w in s_watched)
                    {
                        w.Sample(now);
                    }
                }
            }
        }
    }

    internal static string Describe(object? what)
    {
        try
        {
            return what switch
            {
                AioTask t => t.ToString(),
                Handle h => $"callback {h.CallbackName}",
                IScheduledCallback s => $"callback {EventLoop.DescribeCallback(s.Callback)}",
                Delegate d => $"callback {EventLoop.DescribeCallback(d)}",
                null => "nothing",
                _ => what.GetType().Name,
            };
        }
        catch (Exception)
        {
            return what?.GetType().Name ?? "nothing"; // racy read of a task being finished: keep the type
        }
    }

    private void ReportBlocked(object what, double seconds)
    {
        string item = Describe(what);
        if (_loop._syncWaits > 0)
        {
            item += " (its thread is blocked in a synchronous wait: Task.Wait, .Result, GetAwaiter().GetResult(), a lock or an event)";
        }
        DateTimeOffset since = DateTimeOffset.UtcNow - TimeSpan.FromSeconds(seconds);
        string loop = _loop.ToString();
        AioEventSource.Log.LoopBlocked(_loopId, item, seconds);
        AioMetrics.LoopBlocked.Add(1, new KeyValuePair<string, object?>("aio.loop", _loopId));
        try
        {
            if (_loop.Logger is NullLogger)
            {
                Console.Error.WriteLine(
                    $"Aio: event loop {loop} blocked: {item} has been running for {seconds:0.000} seconds (since {since:O}). " +
                    "Nothing else runs on the loop meanwhile: await instead of waiting (Task.Wait, .Result, Thread.Sleep), and move blocking work to Asyncio.ToThread.");
            }
            else if (_loop.Logger.IsEnabled(LogLevel.Warning))
            {
                FacilityLog.LoopBlocked(_loop.Logger, loop, item, seconds, since);
            }
        }
        catch (Exception)
        {
            // A broken logger must not kill the watchdog.
        }
    }

    private void ReportUnblocked(object what, double seconds)
    {
        string item = Describe(what);
        string loop = _loop.ToString();
        AioEventSource.Log.LoopUnblocked(_loopId, item, seconds);
        try
        {
            if (_loop.Logger is not NullLogger && _loop.Logger.IsEnabled(LogLevel.Information))
            {
                FacilityLog.LoopUnblocked(_loop.Logger, loop, item, seconds);
            }
        }
        catch (Exception)
        {
            // A broken logger must not kill the watchdog.
        }
    }
}
