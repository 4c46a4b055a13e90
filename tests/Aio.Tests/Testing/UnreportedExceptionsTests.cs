using Aio.LowLevel;
using Aio.Testing;

namespace Aio.Tests.Testing;

/// <summary>
/// LoopInspection.HasUnreportedExceptions tells a harness whether a report "exception was never retrieved" may still
/// come, so AioTest forces a full garbage collection only then (it used to collect after every test).
/// </summary>
public sealed class UnreportedExceptionsTests
{
    [Fact]
    public void HasUnreportedExceptions_FailedTaskThenRetrieved_TrueUntilRetrieved()
    {
        var seen = new List<string>();
        var loop = new EventLoop(new VirtualClock());
        loop.RunUntilComplete(async () =>
        {
            seen.Add($"start {loop.HasUnreportedExceptions()}");
            AioTask failing = Asyncio.CreateTask(async () =>
            {
                await Asyncio.Sleep(1);
                throw new InvalidOperationException("boom");
            });
            await Asyncio.Wait([failing]);
            seen.Add($"failed {loop.HasUnreportedExceptions()}");
            seen.Add($"retrieved {failing.Exception()?.Message} {loop.HasUnreportedExceptions()}");
        });
        loop.Close();
        Assert.Equal(["start False", "failed True", "retrieved boom False"], seen);
    }

    [Fact]
    public void HasUnreportedExceptions_NeverRetrievedThenReportedAtClose_FalseAfterTheReport()
    {
        var reports = new List<string>();
        var loop = new EventLoop(new VirtualClock()) { ExceptionHandler = (_, c) => reports.Add(c.Message) };
        AioTask? failing = null;
        loop.RunUntilComplete(async () =>
        {
            failing = Asyncio.CreateTask(async () => throw new InvalidOperationException("boom"), "failing");
            await Asyncio.Sleep(1);
        });
        bool before = loop.HasUnreportedExceptions();
        loop.Close();
        Assert.Equal((true, false), (before, loop.HasUnreportedExceptions()));
        Assert.Equal([$"Task exception was never retrieved: {failing}"], reports);
    }

    [Fact]
    public void Run_UnretrievedExceptionOfACollectedTask_StillFailsTheTest()
    {
        // The failed task is unreachable when the body returns: only a collection brings its finalizer's report.
        var e = Assert.Throws<AioTestFailureException>(() => AioTest.Run(async () =>
        {
            StartFailingTask();
            await Asyncio.Sleep(2);
        }));
        Assert.Equal(AioTestFailureKind.UnobservedErrors, e.Kind);
        Assert.StartsWith("1 error(s) reached the loop's exception handler:\nTask exception was never retrieved: <Task finished exception=InvalidOperationException name='unreachable'", e.Message, StringComparison.Ordinal);

        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
        static void StartFailingTask() => _ = Asyncio.CreateTask(async () =>
        {
            await Asyncio.Sleep(1);
            throw new InvalidOperationException("nobody awaited me");
        }, "unreachable");
    }
}
