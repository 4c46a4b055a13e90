using System.Runtime.CompilerServices;

namespace Aio.LowLevel;

/// <summary>Cancellation checks for code that builds its own awaits (primitives, protocols).</summary>
public static class Checkpoint
{
    /// <summary>True when the current task's innermost scope is cancelled: the next Aio await will throw <see cref="CancelledError"/>. False outside a task.</summary>
    public static bool IsCancelled => EventLoop.TryGetRunningLoop()?.CurrentTaskInternal?.IsEffectivelyCancelled() ?? false;

    /// <summary>Throws <see cref="CancelledError"/> now if the current task's scope is cancelled (a checkpoint without a yield).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void ThrowIfCancelled()
    {
        if (EventLoop.TryGetRunningLoop()?.CurrentTaskInternal is { } task)
        {
            task.ThrowIfCancelled();
        }
    }
}
