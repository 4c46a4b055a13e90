// LoopWatchdog: notices a loop stuck in one callback and says which.
//
// Design note. The loop publishes a heartbeat only while a watchdog is attached: before each ready item it
// stores what it is about to run and bumps a sequence number (one reference write and one Volatile.Write;
// nothing at all when no watchdog is attached), and after each batch it stores null ("idle": about to wait
// in the poller, which is not blocking in the sense meant here). A background thread samples the pair every
// quarter threshold. The same non-null item with the same sequence number on two samples means one item ran
// the whole time in between; once that reaches the threshold, the episode is reported once – logger
// (event id 110), EventSource "Aio" and the "aio.loop.blocked" counter – and its end is logged when the
// sequence moves on. The start time is the first sample that saw the item, so it is late by at most one
// sampling period. Reading a task's name and state from this thread is racy by design: it is diagnostics.
using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Aio.Os.Internal;

internal sealed class LoopWatchdog
{
    private readonly EventLoop _loop;
    private readonly int _loopId;
    private readonly object _gate = new();
    private object? _current;        // written by the loop: what runs now (AioTask, Handle, Delegate), null when idle
    private long _sequence;          // written by the loop: bumped per item and per idle mark
    private double _threshold;       // seconds
    private bool _stopped;           // guarded by _gate

    public LoopWatchdog(EventLoop loop, int loopId, double threshold)
    {
        _loop = loop;
        _loopId = loopId;
        _threshold = threshold;
        var thread = new Thread(static s => ((LoopWatchdog)s!).Run())
        {
            IsBackground = true,
            Name = $"Aio watchdog (loop #{loopId})",
        };
        thread.UnsafeStart(this);
    }

    public double Threshold
    {
        get => Volatile.Read(ref _threshold);
        set => Volatile.Write(ref _threshold, value);
    }

    /// <summary>Loop thread: about to run <paramref name="what"/>.</summary>
    public void Beat(object? what)
    {
        _current = what;
        Volatile.Write(ref _sequence, _sequence + 1);
    }

    /// <summary>Loop thread: the batch is done; the loop is about to poll or stop.</summary>
    public void Idle()
    {
        _current = null;
        Volatile.Write(ref _sequence, _sequence + 1);
    }

    public void Stop()
    {
        lock (_gate)
        {
            _stopped = true;
            Monitor.PulseAll(_gate);
        }
    }

    private void Run()
    {
        long lastSequence = -1;
        long episodeStart = 0;       // Stopwatch timestamp of the first sample that saw the current item
        object? reportedItem = null; // the item of the episode already reported, until the sequence moves
        while (true)
        {
            double threshold = Threshold;
            int periodMs = Math.Clamp((int)(threshold * 250), 5, 1000);
            lock (_gate)
            {
                if (_stopped)
                {
                    return;
                }
                Monitor.Wait(_gate, periodMs);
                if (_stopped)
                {
                    return;
                }
            }
            long sequence = Volatile.Read(ref _sequence);
            object? current = Volatile.Read(ref _current);
            long now = Stopwatch.GetTimestamp();
            if (sequence != lastSequence || current is null)
            {
                if (reportedItem is not null)
                {
                    ReportUnblocked(reportedItem, Stopwatch.GetElapsedTime(episodeStart, now).TotalSeconds);
                    reportedItem = null;
                }
                lastSequence = sequence;
                episodeStart = now;
                continue;
            }
            double seconds = Stopwatch.GetElapsedTime(episodeStart, now).TotalSeconds;
            if (reportedItem is null && seconds >= threshold)
            {
                reportedItem = current;
                ReportBlocked(current, seconds);
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
                Delegate d => $"callback {(d.Method.DeclaringType is { } type ? type.Name + "." : "")}{d.Method.Name}",
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
        DateTimeOffset since = DateTimeOffset.UtcNow - TimeSpan.FromSeconds(seconds);
        string loop = _loop.ToString();
        AioEventSource.Log.LoopBlocked(_loopId, item, seconds);
        AioMetrics.LoopBlocked.Add(1, new KeyValuePair<string, object?>("aio.loop", _loopId));
        try
        {
            if (_loop.Logger is NullLogger)
            {
                Console.Error.WriteLine($"Aio: event loop {loop} blocked: {item} has been running for {seconds:0.000} seconds (since {since:O})");
            }
            else if (_loop.Logger.IsEnabled(LogLevel.Warning))
            {
                OsLog.LoopBlocked(_loop.Logger, loop, item, seconds, since);
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
                OsLog.LoopUnblocked(_loop.Logger, loop, item, seconds);
            }
        }
        catch (Exception)
        {
            // A broken logger must not kill the watchdog.
        }
    }
}
