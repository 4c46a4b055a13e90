namespace Aio.Sync.Internal;

/// <summary>
/// Binds a primitive to a loop on first use (asyncio's <c>_LoopBoundMixin</c>) and checks every later
/// use: right thread, same loop.
/// </summary>
internal static class LoopAffinity
{
    /// <summary>
    /// For members that may run outside a loop (Set, Release, PutNowait before the loop starts): binds to the
    /// running loop if there is one; returns the bound loop, or null while the primitive is unbound and no loop runs.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public static EventLoop? Check(ref EventLoop? bound, object primitive, string member)
    {
        EventLoop? loop = bound;
        if (loop is not null)
        {
            loop.CheckThread(member);
            if (loop.IsRunning)
            {
                // Right thread and running: it is the loop running here (one loop runs per thread).
                return loop;
            }
            EventLoop? running = EventLoop.TryGetRunningLoop();
            if (running is not null && !ReferenceEquals(running, loop))
            {
                SyncThrowHelper.OtherLoop(primitive, loop, running, member);
            }
            return loop;
        }
        bound = EventLoop.TryGetRunningLoop();
        return bound;
    }

    /// <summary>For awaitable members: binds and checks, and returns the running loop (throws outside one).</summary>
    public static EventLoop CheckRunning(ref EventLoop? bound, object primitive, string member)
    {
        EventLoop? loop = Check(ref bound, primitive, member);
        if (loop is null || !loop.IsRunning)
        {
            Aio.Internal.ThrowHelper.NoRunningLoop(member);
        }
        return loop;
    }

    /// <summary>The current task, or a clear error when an operation that must wait is called outside one.</summary>
    public static AioTask RequireTask(EventLoop loop, string member)
    {
        AioTask? task = loop.CurrentTaskInternal;
        if (task is null)
        {
            Aio.Internal.ThrowHelper.NotInTask(member);
        }
        return task;
    }

    /// <summary>
    /// Every Aio await is a checkpoint: an already-cancelled task gets <see cref="CancelledError"/> even when
    /// the operation could complete at once (level-triggered cancellation, docs/design.md principle 4).
    /// </summary>
    public static void ThrowIfCancelled(AioTask? task) => task?.ThrowIfCancelled();

    private static int s_ids;

    /// <summary>A process-wide number for a primitive's label in hang reports (<c>AioLock#3</c>).</summary>
    public static int NextId() => Interlocked.Increment(ref s_ids);
}
