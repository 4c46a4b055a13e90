using System.Diagnostics;

namespace Aio;

/// <summary>The source of an <see cref="EventLoop"/>'s time: seconds on a monotonic scale with a loop-specific origin.</summary>
public interface IClock
{
    /// <summary>The current time in seconds. Never goes backwards.</summary>
    double Now();

    /// <summary>The smallest time step the clock can tell apart, in seconds (timers within it of "now" fire).</summary>
    double Resolution { get; }
}

/// <summary>Real time from <see cref="Stopwatch"/>; the default clock of a loop.</summary>
public sealed class MonotonicClock : IClock
{
    private static readonly double s_secondsPerTick = 1.0 / Stopwatch.Frequency;

    /// <summary>The process-wide monotonic clock.</summary>
    public static MonotonicClock Instance { get; } = new();

    /// <inheritdoc />
    public double Now() => Stopwatch.GetTimestamp() * s_secondsPerTick;

    /// <inheritdoc />
    public double Resolution => 1e-6;
}

/// <summary>
/// Virtual time for tests (Trio's <c>MockClock</c>): time stands still while callbacks run and,
/// with <see cref="AutoJump"/> on, jumps straight to the next timer as soon as the loop is idle,
/// so an hour of timeouts runs in milliseconds.
/// </summary>
/// <remarks>
/// The loop jumps only when nothing is ready, nothing is registered with the poller, and no work it
/// is waiting for runs elsewhere (an executor item, a thread-pool job a task awaits). Not thread-safe:
/// read and advance it on the loop's thread.
/// </remarks>
public sealed class VirtualClock : IClock
{
    private double _now;

    /// <summary>Creates a virtual clock at time <paramref name="start"/> (seconds).</summary>
    /// <param name="start">The initial time.</param>
    /// <param name="autoJump">Whether the loop may jump to its next timer when idle. Defaults to true.</param>
    public VirtualClock(double start = 0, bool autoJump = true)
    {
        _now = start;
        AutoJump = autoJump;
    }

    /// <summary>When true (the default), an idle loop jumps to its next timer instead of waiting.</summary>
    public bool AutoJump { get; set; }

    /// <summary>
    /// Real seconds an idle loop waits before jumping while a task awaits a foreign <see cref="Task"/>
    /// (one Aio cannot see into: it may complete from a thread soon) or while descriptors are registered
    /// (a server, a connection, a pipe: a peer may still answer). Default 0.25. Executor items
    /// (<c>ToThread</c>, <c>RunInExecutor</c>) block the jump until they finish, whatever this is.
    /// </summary>
    public double ForeignWaitThreshold { get; set; } = 0.25;

    /// <summary>
    /// The latest time the loop may jump to (default: no limit). A run whose next timer lies beyond it throws
    /// <see cref="TimeoutException"/> out of <c>RunUntilComplete</c> instead of jumping: a program that keeps
    /// timers armed forever (a retry loop that never gives up) ends there. <see cref="Advance"/> is not limited.
    /// </summary>
    public double Limit { get; set; } = double.PositiveInfinity;

    /// <inheritdoc />
    public double Now() => _now;

    /// <inheritdoc />
    public double Resolution => 1e-9;

    /// <summary>Moves time forward by <paramref name="seconds"/>; timers now due fire on the loop's next iteration.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The step is negative or NaN.</exception>
    public void Advance(double seconds)
    {
        if (!(seconds >= 0))
        {
            throw new ArgumentOutOfRangeException(nameof(seconds), seconds, "Virtual time moves forward only: pass 0 or more seconds.");
        }
        _now += seconds;
    }

    internal void JumpTo(double when)
    {
        if (when > _now)
        {
            if (when > Limit)
            {
                throw new TimeoutException($"Virtual time reached its limit ({Limit:0.###} s): the loop's next timer is due at {when:0.###} s. Something keeps timers armed forever (a retry loop, a periodic task), or raise VirtualClock.Limit.");
            }
            _now = when;
        }
    }
}
