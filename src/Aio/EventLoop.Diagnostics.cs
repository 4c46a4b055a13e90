// EventLoop.Diagnostics: the hang detector and DumpTasks.
//
// Design note. RunOnce calls OnIdleWithoutTimers when it is about to block with nothing ready and no
// live timer. If, in addition, nothing is registered with the poller, no outside work is tracked (executor
// items, foreign awaits) and the inbox is empty, then only another thread calling CallSoonThreadSafe
// could ever wake the loop; with HangDetection on, that is taken as a deadlock and reported instead of
// blocking forever. The report is built from what every parked task records: its wait's abort object
// (AioTask.MainWaitAbort) is a ParkingLot (whose Owner is the primitive), a future or task, a TaskGroup, or a sleep.
// Primitives say who blocks their waiters (a lock's owner, a semaphore's holders), which gives the
// wait-for graph; a cycle in it is a deadlock and is spelled out.
using System.Text;
using Aio.LowLevel;
using Aio.Sync.Internal;

namespace Aio;

public sealed partial class EventLoop
{
    private bool? _hangDetection;   // null: follow Debug

    /// <summary>
    /// When true, a run that would block forever — tasks pending, but nothing ready, no timer, no I/O
    /// registration and no tracked outside work — throws <see cref="DeadlockDetectedException"/> out of
    /// <see cref="RunUntilComplete(Func{Task})"/> / <see cref="RunForever"/> with a report of every pending task,
    /// what it waits on and who holds that. Defaults to <see cref="Debug"/>. Turn it off for programs whose
    /// tasks wait on work that other threads deliver with <see cref="CallSoonThreadSafe(Action)"/> untracked.
    /// </summary>
    public bool HangDetection
    {
        get => _hangDetection ?? Debug;
        set => _hangDetection = value;
    }

    partial void OnIdleWithoutTimers()
    {
        if (!HangDetection || _liveCount == 0 || _ready.Count > 0 || InboxHasWork || _stopping)
        {
            return;
        }
        if (OutsideWorkPending(Poller) != OutsideWork.None || TryPeekLiveTimer(out _))
        {
            return;
        }
        throw new DeadlockDetectedException(BuildTaskReport(
            $"Deadlock detected on {this}: nothing is ready to run, no timer is armed, nothing is registered for I/O and no outside work is " +
            $"pending, yet {_liveCount} task(s) are still pending, so none of them can ever wake. Fix the waits below (or set HangDetection = " +
            "false if another thread will wake them through CallSoonThreadSafe)."));
    }

    /// <summary>
    /// A report of every pending task: what it waits on (primitive, future, task, sleep) and who holds that,
    /// with any wait-for cycle spelled out. The hang detector throws the same text.
    /// </summary>
    public string DumpTasks()
    {
        CheckThread(nameof(DumpTasks));
        return BuildTaskReport($"{_liveCount} pending task(s) on {this}:");
    }

    private string BuildTaskReport(string header)
    {
        var tasks = new List<AioTask>(_liveCount);
        for (AioTask? t = _liveHead; t is not null; t = t._nextLive)
        {
            tasks.Add(t);
        }
        tasks.Reverse(); // creation order reads best

        var blockers = new Dictionary<AioTask, (string Via, IReadOnlyList<AioTask> By)>();
        var sb = new StringBuilder(header).Append('\n');
        foreach (AioTask t in tasks)
        {
            (string what, string via, IReadOnlyList<AioTask> by) = ReferenceEquals(t, _currentTask)
                ? ("is running now (this report was made from it)", "", [])
                : DescribeWait(t);
            sb.Append("  ").Append(TaskLabel(t)).Append(' ').Append(what);
            if (by.Count > 0)
            {
                if (via != "awaits")
                {
                    sb.Append(", held by ").AppendJoin(", ", by.Select(TaskLabel));
                }
                blockers[t] = (via, by);
            }
            sb.Append('\n');
        }

        foreach (List<AioTask> cycle in FindCycles(tasks, blockers))
        {
            sb.Append("Cycle: ");
            for (int i = 0; i < cycle.Count; i++)
            {
                AioTask t = cycle[i];
                AioTask next = cycle[(i + 1) % cycle.Count];
                string via = blockers[t].Via;
                sb.Append(i == 0 ? TaskLabel(t) : ", which").Append(' ').Append(via).Append(via == "awaits" ? " " : " held by ").Append(TaskLabel(next));
            }
            sb.Append(".\n");
        }
        return sb.ToString().TrimEnd('\n');
    }

    private static string TaskLabel(AioTask t) => $"Task '{t.Name}'";

    /// <summary>(text, short "waits X" for cycles, tasks holding what it waits for).</summary>
    private static (string What, string Via, IReadOnlyList<AioTask> By) DescribeWait(AioTask t)
    {
        if (!t.Started)
        {
            return ("has not started yet (its first step is scheduled)", "", []);
        }
        if (t._foreignSuspended)
        {
            return ("awaits foreign work (a Task or API outside Aio)", "", []);
        }
        if (!t.MainWaitParked)
        {
            return t.IsParked ? ("waits in Aio operations of async methods it runs concurrently", "", []) : ("is ready to run", "", []);
        }
        if (t.MainWaitSleeping)
        {
            return ("sleeps (a timer will wake it)", "", []);
        }
        object? wait = t.MainWaitAbort;
        switch (wait)
        {
            case ParkingLot lot when lot.Owner is IWaitTarget target:
            {
                string verb = target.DescribeWait(lot);
                string via = $"{target.DescribeWaitInChain(lot)} {target.Label}";
                return ($"{verb} {target.Label} {lot.Owner}", via, target.Blockers(lot));
            }
            case ParkingLot lot:
                return ($"waits in {lot}", $"waits in {lot}", []);
            case AioTask awaited:
                return ($"awaits {TaskLabel(awaited)}", "awaits", [awaited]);
            case AioFuture future:
                return ($"awaits {future}", "awaits", []);
            case TaskGroup:
                return ("waits for its TaskGroup's children to finish", "", []);
            case null:
                return ("is parked with no recorded wait", "", []);
            default:
                return ($"waits on {wait}", "", []);
        }
    }

    /// <summary>Cycles in the wait-for graph (each reported once, starting from its oldest task).</summary>
    private static List<List<AioTask>> FindCycles(List<AioTask> order, Dictionary<AioTask, (string Via, IReadOnlyList<AioTask> By)> blockers)
    {
        var cycles = new List<List<AioTask>>();
        var done = new HashSet<AioTask>();
        foreach (AioTask start in order)
        {
            if (done.Contains(start))
            {
                continue;
            }
            // Follow the first blocker of each task until the chain ends or repeats.
            var path = new List<AioTask>();
            var onPath = new Dictionary<AioTask, int>();
            AioTask? cur = start;
            while (cur is not null && !done.Contains(cur) && !onPath.ContainsKey(cur))
            {
                onPath[cur] = path.Count;
                path.Add(cur);
                cur = blockers.TryGetValue(cur, out var b) ? b.By[0] : null;
            }
            if (cur is not null && onPath.TryGetValue(cur, out int at))
            {
                cycles.Add(path.GetRange(at, path.Count - at));
            }
            done.UnionWith(path);
        }
        return cycles;
    }
}
