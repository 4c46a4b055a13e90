using Aio.Testing;

namespace Aio.Tests.Testing;

/// <summary>The shared harness (tests/Aio.TestUtilities) applies AioTest's checks to every run.</summary>
public sealed class TestLoopTests
{
    [Fact]
    public void Run_BodyLeavesTaskPending_FailsNamingTheTask()
    {
        var e = Assert.Throws<AioTestFailureException>(() => TestLoop.Run(async () =>
        {
            _ = Asyncio.CreateTask(async () => await Asyncio.Sleep(10), "leaked");
            await Asyncio.Sleep(0);
        }));
        Assert.StartsWith("The test body returned with 1 task(s) still pending: ", e.Message, StringComparison.Ordinal);
        Assert.Contains("leaked", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void RunOnThread_BodyLeavesTaskPending_Fails()
    {
        var e = Assert.Throws<AioTestFailureException>(() => TestLoop.RunOnThread("portable", async loop =>
        {
            _ = loop.CreateTask(async () => await Asyncio.Sleep(10), "leaked");
            await Asyncio.Sleep(0);
        }));
        Assert.Contains("1 task(s) still pending", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void RunOnThread_ErrorsCollected_DoNotFailTheRun()
    {
        var errors = new List<ExceptionContext>();
        TestLoop.RunOnThread("portable", loop =>
        {
            loop.CallExceptionHandler(new ExceptionContext { Message = "expected" });
            return Task.CompletedTask;
        }, errors: errors);
        Assert.Equal(["expected"], errors.Select(c => c.Message));
    }
}
