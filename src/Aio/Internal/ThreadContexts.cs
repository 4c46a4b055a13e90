// ThreadContexts: the loop thread's ExecutionContext and SynchronizationContext, read and set through the
// loop's Thread object.
//
// Design note. ExecutionContext.Capture() and SynchronizationContext.SetSynchronizationContext() find the
// current Thread through a thread-static each time (~11 ns for Capture on this machine, from precompiled
// CoreLib code); a coroutine step needs up to three of them. The loop knows its thread, so it reads and
// writes the same two fields of that Thread object directly (UnsafeAccessor), with exactly the public
// APIs' semantics. A probe at start-up checks the fields against the public APIs; if the runtime's
// layout differs, every call takes the public API instead.
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;

namespace Aio.Internal;

internal static class ThreadContexts
{
    private static readonly ExecutionContext? s_default = ProbeDefault();
    private static readonly bool s_fieldsWork = Probe();

    /// <summary>True when the fields are used; false when this runtime's layout differs and the public APIs are.</summary>
    public static bool UsesThreadFields => s_fieldsWork;

    /// <summary><see cref="ExecutionContext.Capture"/> for <paramref name="thread"/>, which must be the calling thread.</summary>
    public static ExecutionContext? Capture(Thread thread)
    {
        if (!s_fieldsWork)
        {
            return ExecutionContext.Capture();
        }
        ExecutionContext? context = ExecutionContextOf(thread);
        return context is null ? s_default : FlowSuppressed(context) ? null : context;
    }

    /// <summary>
    /// The context <paramref name="thread"/> (the calling thread) runs in now, flow-suppressed or not, to be put
    /// back with <see cref="ExecutionContext.Restore"/>; null only if that cannot be read (public-API fallback, suppressed flow).
    /// </summary>
    public static ExecutionContext? Current(Thread thread) => s_fieldsWork ? ExecutionContextOf(thread) ?? s_default : ExecutionContext.Capture();

    /// <summary>
    /// What <paramref name="thread"/> (the calling thread) holds as its context, compared by reference only: the
    /// loop reads it after each callback to notice one that changed the context (set an AsyncLocal) and left it so.
    /// </summary>
    public static ExecutionContext? Raw(Thread thread) => s_fieldsWork ? ExecutionContextOf(thread) : ExecutionContext.Capture();

    /// <summary>Makes <paramref name="context"/> <paramref name="thread"/>'s SynchronizationContext unless it already is (the calling thread).</summary>
    public static void Install(Thread thread, SynchronizationContext context)
    {
        if (s_fieldsWork)
        {
            ref SynchronizationContext? slot = ref SynchronizationContextOf(thread);
            if (!ReferenceEquals(slot, context))
            {
                slot = context;
            }
        }
        else if (!ReferenceEquals(SynchronizationContext.Current, context))
        {
            SynchronizationContext.SetSynchronizationContext(context);
        }
    }

    private static readonly bool s_waitFieldWorks = ProbeWaitField();

    /// <summary>
    /// <see cref="SynchronizationContext"/>'s SetWaitNotificationRequired without its cost: in CoreCLR that call also
    /// creates and prepares a delegate, which every task's context would pay. Sets the flag it sets; if this runtime's
    /// layout differs, does nothing (the watchdog then cannot tell a blocking wait from slow code).
    /// </summary>
    public static void RequireWaitNotification(SynchronizationContext context)
    {
        if (s_waitFieldWorks)
        {
            WaitNotificationRequired(context) = true;
        }
    }

    [UnsafeAccessor(UnsafeAccessorKind.Field, Name = "_requireWaitNotification")]
    private static extern ref bool WaitNotificationRequired(SynchronizationContext context);

    [SuppressMessage("Design", "CA1031", Justification = "Any failure means the runtime's layout differs: leave the flag alone.")]
    private static bool ProbeWaitField()
    {
        try
        {
            var context = new SynchronizationContext();
            WaitNotificationRequired(context) = true;
            return context.IsWaitNotificationRequired();
        }
        catch (Exception)
        {
            return false;
        }
    }

    [UnsafeAccessor(UnsafeAccessorKind.Field, Name = "_executionContext")]
    private static extern ref ExecutionContext? ExecutionContextOf(Thread thread);

    [UnsafeAccessor(UnsafeAccessorKind.Field, Name = "_synchronizationContext")]
    private static extern ref SynchronizationContext? SynchronizationContextOf(Thread thread);

    [UnsafeAccessor(UnsafeAccessorKind.Field, Name = "m_isFlowSuppressed")]
    private static extern ref bool FlowSuppressed(ExecutionContext context);

    [UnsafeAccessor(UnsafeAccessorKind.StaticField, Name = "Default")]
    private static extern ref ExecutionContext DefaultContext(ExecutionContext? type);

    [SuppressMessage("Design", "CA1031", Justification = "Any failure means the runtime's layout differs: use the public APIs.")]
    private static ExecutionContext? ProbeDefault()
    {
        try
        {
            return DefaultContext(null);
        }
        catch (Exception)
        {
            return null;
        }
    }

    /// <summary>Checks the fields against the public APIs on this thread: in its context, in a changed one (inside Run, so nothing leaks), and for the SynchronizationContext.</summary>
    [SuppressMessage("Design", "CA1031", Justification = "Any failure means the runtime's layout differs: use the public APIs.")]
    private static bool Probe()
    {
        if (s_default is null || ExecutionContext.Capture() is not { } current)
        {
            return false;
        }
        SynchronizationContext? saved = SynchronizationContext.Current;
        try
        {
            Thread self = Thread.CurrentThread;
            bool same = ReferenceEquals(ExecutionContextOf(self) ?? s_default, current);
            var changed = new StrongBox<bool>();
            ExecutionContext.Run(current, static box =>
            {
                var local = new AsyncLocal<int> { Value = 1 };   // gives this Run a context of its own
                var result = (StrongBox<bool>)box!;
                result.Value = local.Value == 1 && ReferenceEquals(ExecutionContextOf(Thread.CurrentThread), ExecutionContext.Capture());
            }, changed);
            var context = new SynchronizationContext();
            SynchronizationContextOf(self) = context;
            return same && changed.Value && ReferenceEquals(SynchronizationContext.Current, context);
        }
        catch (Exception)
        {
            return false;
        }
        finally
        {
            SynchronizationContext.SetSynchronizationContext(saved);
        }
    }
}
