using Xunit;
#if !XUNIT_V3
using Xunit.Abstractions;
#endif
using static Aio.Asyncio;

namespace Aio.Testing.Xunit.Tests;

// Test methods that the tests of the attributes run and judge (most are meant to fail). For xunit v2 the class is
// internal, so xunit does not run it itself: SampleRunner does. tests/Aio.Testing.Xunit.V3.Samples compiles this
// file for xunit v3 (XUNIT_V3), where the class is public because v3 only finds public classes; that project is a
// v3 test executable that no `dotnet test` runs: tests/Aio.Testing.Xunit.V3.Tests starts it as a process.
#if XUNIT_V3
public
#else
internal
#endif
sealed class Samples(ITestOutputHelper output)
{
    [LoopFact]
    public async AioTask LeaksATask()
    {
        _ = CreateTask(async () => await Sleep(100), "forgotten");
        await Sleep(1);
    }

    [LoopFact]
    public async Task LeavesAnExceptionUnobserved()
    {
        _ = CreateTask(async () =>
        {
            await Sleep(1);
            throw new InvalidOperationException("nobody awaited me");
        }, "failing");
        await Sleep(2);
    }

    [LoopFact]
    public async Task Hangs()
    {
        var never = new AioEvent();
        await CreateTask(async () => await never.WaitAsync(), "waiter");
    }

    [LoopFact(LoopTimeout = 5)]
    public async Task TicksForever()
    {
        while (true)
        {
            await Sleep(1);
        }
    }

    [LoopFact]
    public async Task SleepsPastTheDeadline() => await Sleep(3600);

    [LoopFact(LoopTimeout = 7200)]
    public async Task SleepsAnHour()
    {
        await Sleep(3600);
        output.WriteLine($"woke at t={EventLoop.GetRunningLoop().Time()}");
    }

    [LoopFact(RealTime = true)]
    public async Task SleepsInRealTime()
    {
        double start = EventLoop.GetRunningLoop().Time();
        await Sleep(0.05);
        output.WriteLine($"slept {(EventLoop.GetRunningLoop().Time() - start >= 0.05 ? "at least" : "less than")} 50 ms");
    }

    [LoopTheory]
    [InlineData(1, false)]
    [InlineData(2, true)]
    public async Task Rows(int seconds, bool leak)
    {
        if (leak)
        {
            _ = CreateTask(async () => await Sleep(100), "leaked-by-row");
        }
        await Sleep(seconds);
        output.WriteLine($"row {seconds} at t={EventLoop.GetRunningLoop().Time()}");
    }

    [LoopFact]
    public async void AsyncVoid() => await Sleep(1);

    [LoopFact]
    public void Synchronous() => output.WriteLine($"on the loop: {EventLoop.GetRunningLoop() is not null}");

    [LoopFact]
    public async ValueTask<int> ReturnsAValueTask()
    {
        await Sleep(1);
        return 1;
    }

    [LoopFact]
    public async Task Throws()
    {
        await Sleep(1);
        throw new FormatException("the test's own failure");
    }
}
