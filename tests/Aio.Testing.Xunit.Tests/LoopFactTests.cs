using Xunit;
using static Aio.Asyncio;

namespace Aio.Testing.Xunit.Tests;

public class LoopFactTests
{
    private static string FirstLine(string? s) => s is null ? "" : s.Split('\n')[0];

    // Loop and primitive labels carry process-wide numbers; the rest of a message is exact.
    private static string Normalize(string? s) => System.Text.RegularExpressions.Regex.Replace(s ?? "", @"#\d+", "#N").Replace("\r", "");

    [Fact]
    public async Task LoopFact_LeakedTask_FailsNamingTheTask()
    {
        SampleResult r = await SampleRunner.RunOneAsync(typeof(Samples), nameof(Samples.LeaksATask));
        Assert.Equal(("Failed", "Aio.Testing.AioTestFailureException"), (r.Outcome, r.ExceptionType));
        Assert.Equal("The test body returned with 1 task(s) still pending: <Task pending name='forgotten' coro=LeaksATask.lambda>. Await or cancel every task you start.", r.Message);
    }

    [Fact]
    public async Task LoopFact_UnobservedException_FailsWithTheErrorAndWritesItToTheOutput()
    {
        SampleResult r = await SampleRunner.RunOneAsync(typeof(Samples), nameof(Samples.LeavesAnExceptionUnobserved));
        Assert.Equal(("Failed", "Aio.Testing.AioTestFailureException"), (r.Outcome, r.ExceptionType));
        const string error = "Task exception was never retrieved: <Task finished exception=InvalidOperationException name='failing' coro=LeavesAnExceptionUnobserved.lambda>: System.InvalidOperationException: nobody awaited me";
        Assert.Equal(["1 error(s) reached the loop's exception handler:", error], r.Message!.Split('\n')[..2]);
        Assert.Equal("Loop exception handler: " + error, FirstLine(r.Output));
    }

    [Fact]
    public async Task LoopFact_Hang_FailsWithTheHangReport()
    {
        SampleResult r = await SampleRunner.RunOneAsync(typeof(Samples), nameof(Samples.Hangs));
        Assert.Equal(("Failed", "Aio.Testing.AioTestFailureException"), (r.Outcome, r.ExceptionType));
        Assert.Equal(
            """
            The test hung: every pending task waits for something that nothing can deliver any more (found when its 60 s virtual-time deadline fired at t=60 and left no timer armed). Fix the waits in this report:
            Deadlock detected on <EventLoop#N running=True closed=False debug=False>: nothing is ready to run, no timer is armed, nothing is registered for I/O and no outside work is pending, yet 2 task(s) are still pending, so none of them can ever wake. Fix the waits below (or set HangDetection = false if another thread will wake them through CallSoonThreadSafe).
              Task 'Task-1' awaits Task 'waiter'
              Task 'waiter' waits for AioEvent#N <AioEvent [unset, waiters:1]>
            """, Normalize(r.Message));
        Assert.True(r.Seconds < 1, $"a hang on a virtual clock took {r.Seconds} s of real time to find");
    }

    [Fact]
    public async Task LoopFact_RunsPastLoopTimeout_FailsAsTimeout()
    {
        SampleResult r = await SampleRunner.RunOneAsync(typeof(Samples), nameof(Samples.TicksForever));
        Assert.Equal(("Failed", "Aio.Testing.AioTestFailureException"), (r.Outcome, r.ExceptionType));
        Assert.Equal(
            """
            The test did not finish within its 5 s virtual-time deadline (LoopTimeout): it was still running at t=5 and was cancelled. Make it finish sooner or raise LoopTimeout. Tasks at the deadline:
            1 pending task(s) on <EventLoop#N running=True closed=False debug=False>:
              Task 'Task-1' is ready to run
            """, Normalize(r.Message));
    }

    [Fact]
    public async Task LoopFact_SleepPastDefaultDeadline_FailsAsTimeout()
    {
        SampleResult r = await SampleRunner.RunOneAsync(typeof(Samples), nameof(Samples.SleepsPastTheDeadline));
        Assert.Equal(("Failed", "Aio.Testing.AioTestFailureException"), (r.Outcome, r.ExceptionType));
        Assert.Equal(
            """
            The test did not finish within its 60 s virtual-time deadline (LoopTimeout): it was still running at t=60 and was cancelled. Make it finish sooner or raise LoopTimeout. Tasks at the deadline:
            1 pending task(s) on <EventLoop#N running=True closed=False debug=False>:
              Task 'Task-1' sleeps (a timer will wake it)
            """, Normalize(r.Message));
    }

    [Fact]
    public async Task LoopFact_VirtualHourSleep_PassesInMilliseconds()
    {
        SampleResult r = await SampleRunner.RunOneAsync(typeof(Samples), nameof(Samples.SleepsAnHour));
        Assert.Equal(("Passed", "woke at t=3600\n"), (r.Outcome, r.Output.Replace("\r", "")));
        Assert.True(r.Seconds < 1, $"an hour of virtual time took {r.Seconds} s of real time");
    }

    [Fact]
    public async Task LoopFact_RealTime_SleepsOnTheRealClock()
    {
        SampleResult r = await SampleRunner.RunOneAsync(typeof(Samples), nameof(Samples.SleepsInRealTime));
        Assert.Equal(("Passed", "slept at least 50 ms\n"), (r.Outcome, r.Output));
        Assert.True(r.Seconds >= 0.05m, $"took {r.Seconds} s");
    }

    [Fact]
    public async Task LoopTheory_DataRows_RunEachRowOnItsOwnLoop()
    {
        List<SampleResult> rows = await SampleRunner.RunAsync(typeof(Samples), nameof(Samples.Rows));
        Assert.Equal(
            [
                ("Aio.Testing.Xunit.Tests.Samples.Rows(seconds: 1, leak: False)", "Passed", "", "row 1 at t=1\n"),
                ("Aio.Testing.Xunit.Tests.Samples.Rows(seconds: 2, leak: True)", "Failed",
                 "The test body returned with 1 task(s) still pending: <Task pending name='leaked-by-row' coro=Rows.lambda>. Await or cancel every task you start.", "row 2 at t=2\n"),
            ],
            rows.Select(r => (r.DisplayName, r.Outcome, FirstLine(r.Message), Normalize(r.Output))));
    }

    [Fact]
    public async Task LoopFact_AsyncVoid_FailsAskingForTask()
    {
        SampleResult r = await SampleRunner.RunOneAsync(typeof(Samples), nameof(Samples.AsyncVoid));
        Assert.Equal(("Failed", "System.NotSupportedException"), (r.Outcome, r.ExceptionType));
        Assert.Equal("The test method Samples.AsyncVoid is 'async void', which cannot be awaited: return Task or AioTask instead.", r.Message);
    }

    [Fact]
    public async Task LoopFact_ReturnTypes_SyncAndValueTaskPass()
    {
        SampleResult sync = await SampleRunner.RunOneAsync(typeof(Samples), nameof(Samples.Synchronous));
        SampleResult valueTask = await SampleRunner.RunOneAsync(typeof(Samples), nameof(Samples.ReturnsAValueTask));
        Assert.Equal(("Passed", "on the loop: True\n", "Passed"), (sync.Outcome, sync.Output, valueTask.Outcome));
    }

    [Fact]
    public async Task LoopFact_BodyThrows_ReportsTheBodysException()
    {
        SampleResult r = await SampleRunner.RunOneAsync(typeof(Samples), nameof(Samples.Throws));
        Assert.Equal(("Failed", "System.FormatException", "the test's own failure"), (r.Outcome, r.ExceptionType, r.Message));
    }

    // The attributes as Aio's own tests use them: these run under xunit itself.

    [LoopFact]
    public async AioTask LoopFact_AioTaskMethod_RunsOnAVirtualClock()
    {
        await Sleep(30);
        Assert.Equal(30, EventLoop.GetRunningLoop().Time());
    }

    [LoopTheory]
    [InlineData(0.5)]
    [InlineData(45)]
    public async Task LoopTheory_InlineData_EachRowGetsAFreshClock(double seconds)
    {
        await Sleep(seconds);
        Assert.Equal(seconds, EventLoop.GetRunningLoop().Time());
    }
}
