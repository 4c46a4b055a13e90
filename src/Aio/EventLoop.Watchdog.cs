using Aio.Internal;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging;
using System.Runtime.InteropServices;
using System.Text;

namespace Aio;

public sealed partial class EventLoop
{
    private LoopWatchdog? _watchdog;          // attached while enabled; read once per iteration by RunOnce
    private bool? _watchdogEnabled;           // null: on (the default)
    private double? _watchdogThreshold;       // null: the default for the loop's mode (WatchdogThreshold)

    /// <summary>The watchdog's threshold outside debug mode, in seconds.</summary>
    internal const double DefaultWatchdogThreshold = 5.0;

    /// <summary>The watchdog's threshold in debug mode, in seconds.</summary>
    internal const double DebugWatchdogThreshold = 1.0;

    /// <summary>
    /// Whether the watchdog reports a callback or task step that keeps the loop busy for longer than
    /// <see cref="WatchdogThreshold"/>: once per stall, it logs which task (by name) or callback, since when
    /// (event id 110; standard error when no logger is set), writes the EventSource event <c>Aio/LoopBlocked</c>
    /// and adds to the <c>aio.loop.blocked</c> counter of the <c>Aio</c> meter. Null (the default) and true
    /// mean on; false turns it off. One background thread samples every watched loop (at most once a second at
    /// the default threshold); a running loop pays a counter increment per callback, and a reference write when
    /// the callback or task differs from the previous one.
    /// </summary>
    public bool? WatchdogEnabled
    {
        get => _watchdogEnabled;
        set
        {
            CheckThread(nameof(WatchdogEnabled));
            _watchdogEnabled = value;
            if (_running)
            {
                UpdateWatchdog();
            }
        }
    }

    /// <summary>
    /// Seconds one callback or task step may run before the watchdog reports it. Defaults to 5, or 1 in
    /// <see cref="Debug"/> mode, until set. Tests that block the loop on purpose may raise it.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is not positive.</exception>
    public double WatchdogThreshold
    {
        get => _watchdogThreshold ?? (Debug ? DebugWatchdogThreshold : DefaultWatchdogThreshold);
        set
        {
            if (!(value > 0))
            {
                throw new ArgumentOutOfRangeException(nameof(value), value, "Pass a number of seconds greater than 0.");
            }
            _watchdogThreshold = value;
            if (_watchdog is not null)
            {
                _watchdog.Threshold = value;
            }
        }
    }

    /// <summary>
    /// Whether the process signal SIGUSR1 makes this loop, while it runs, write a dump of its tasks (each pending task
    /// and its state) to <see cref="Logger"/> (event id 120; standard error when no logger is set). Default true on
    /// Unix. While a loop with this on is running, SIGUSR1 does not end the process.
    /// </summary>
    public bool TaskDumpOnSignal { get; set; } = !OperatingSystem.IsWindows();

    /// <summary>Writes the task dump to the logger (or standard error). Loop thread only.</summary>
    internal void WriteTaskDump()
    {
        string dump = "\n" + DumpTasks(); // the hang detector's report: what each task waits on, and who holds it
        int count = _liveCount;
        string self = ToString();
        try
        {
            if (Logger is NullLogger)
            {
                Console.Error.WriteLine($"Aio: task dump of {this} ({count} task(s)):{dump}");
            }
            else if (Logger.IsEnabled(LogLevel.Information))
            {
                FacilityLog.TaskDump(Logger, self, count, dump);
            }
        }
        catch (Exception)
        {
            // A broken logger must not stop the loop.
        }
    }

    partial void OnRunStarting()
    {
        UpdateWatchdog();
        if (TaskDumpOnSignal)
        {
            TaskDumpSignal.Add(this);
        }
    }

    partial void OnRunStopped()
    {
        if (_watchdog is { } watchdog)
        {
            watchdog.Idle();
            watchdog.Stop();
        }
        TaskDumpSignal.Remove(this);
    }

    /// <summary>At a run's start, or when <see cref="WatchdogEnabled"/> changes during one: attach and watch, or detach.</summary>
    private void UpdateWatchdog()
    {
        bool on = _watchdogEnabled ?? true;
        if (on)
        {
            _watchdog ??= new LoopWatchdog(this, _id, WatchdogThreshold);
            _watchdog.Threshold = WatchdogThreshold; // Debug may have changed since the last run
            _watchdog.Start();
        }
        else if (_watchdog is not null)
        {
            _watchdog.Stop();
            _watchdog = null;
        }
    }

    /// <summary>The process-wide SIGUSR1 registration shared by every running loop that wants dumps.</summary>
    private static class TaskDumpSignal
    {
        private static readonly object s_lock = new();
        private static readonly List<EventLoop> s_loops = new();
        private static PosixSignalRegistration? s_registration;

        public static void Add(EventLoop loop)
        {
            if (OperatingSystem.IsWindows())
            {
                return;
            }
            lock (s_lock)
            {
                s_loops.Add(loop);
                if (s_registration is null)
                {
                    try
                    {
                        s_registration = PosixSignalRegistration.Create((PosixSignal)ProcessLibCSignals.SIGUSR1, OnSignal);
                    }
                    catch (Exception e) when (e is PlatformNotSupportedException or IOException or ArgumentOutOfRangeException)
                    {
                        // No SIGUSR1 here: dumps are a convenience.
                    }
                }
            }
        }

        public static void Remove(EventLoop loop)
        {
            lock (s_lock)
            {
                if (!s_loops.Remove(loop) || s_loops.Count > 0)
                {
                    return;
                }
                s_registration?.Dispose();
                s_registration = null;
            }
        }

        private static void OnSignal(PosixSignalContext context)
        {
            context.Cancel = true;
            lock (s_lock)
            {
                foreach (EventLoop loop in s_loops)
                {
                    loop.TryPostItem(new ReadyItem { Kind = ReadyKind.Action, Callback = s_dump, State = loop });
                }
            }
        }

        private static readonly Action<object?> s_dump = static s => ((EventLoop)s!).WriteTaskDump();
    }
}
