using Aio.Internal;

namespace Aio.Tests.Internal;

/// <summary>
/// The hot paths read a few private fields of the runtime (through UnsafeAccessor), each checked once at
/// start-up with a fallback to the public API. These tests fail when a runtime update makes a check fail, so
/// the slowdown is noticed rather than silent; the fallbacks themselves stay correct.
/// </summary>
public sealed class RuntimeAccessTests
{
    private static readonly AsyncLocal<int> s_local = new();

    [Fact]
    public void ThreadContexts_UseTheThreadsFields_AndAgreeWithThePublicApis()
    {
        Assert.True(ThreadContexts.UsesThreadFields);
        Thread self = Thread.CurrentThread;
        Assert.Same(ExecutionContext.Capture(), ThreadContexts.Capture(self));
        ExecutionContext.Run(ExecutionContext.Capture()!, _ =>
        {
            s_local.Value = 42;
            Assert.Same(ExecutionContext.Capture(), ThreadContexts.Capture(Thread.CurrentThread));
        }, null);
        using (ExecutionContext.SuppressFlow())
        {
            Assert.Null(ThreadContexts.Capture(self));
        }
        SynchronizationContext? saved = SynchronizationContext.Current;
        try
        {
            var context = new SynchronizationContext();
            ThreadContexts.Install(self, context);
            Assert.Same(context, SynchronizationContext.Current);
        }
        finally
        {
            SynchronizationContext.SetSynchronizationContext(saved);
        }
    }

    [Fact]
    public void Coroutines_RecogniseAioWaitsInsideValueTasks()
    {
        Assert.True(Coroutines.ReadsValueTasks);
    }
}
