using System.Text.RegularExpressions;
using Aio.Testing.Xunit;
using Microsoft.Extensions.Logging;
using Xunit;
using static Aio.Asyncio;

namespace Aio.Testing.Xunit.V3.Tests;

/// <summary>
/// [LoopFact] / [LoopTheory] under xunit v3: the samples (the same file as the v2 package's tests) run in a real v3
/// process (<see cref="SampleRun"/>) and each failure rule is checked against what v3 reported, message for message
/// the same as under v2.
/// </summary>
public class LoopFactTests
{
    private static string FirstLine(string? s) => s is null ? "" : s.Split('\n')[0];

    // Loop and primitive labels carry process-wide numbers; the rest of a message is exact.
    private static string Normalize(string? s) => Regex.Replace(s ?? "", @"#\d+", "#N").Replace("\r", "", StringComparison.Ordinal);

    [Fact]
    public async Task LoopFact_LeakedTask_FailsNamingTheTask()
    {
        SampleResult r = await SampleRun.OneAsync("LeaksATask");
        Assert.Equal(("Failed", "Aio.Testing.AioTestFailureException"), (r.Outcome, r.ExceptionType));
        Assert.Equal("The test body returned with 1 task(s) still pending: <Task pending name='forgotten' coro=LeaksATask.lambda>. Await or cancel every task you start.", r.Message);
    }

    [Fact]
    public async Task LoopFact_UnobservedException_FailsWithTheErrorAndWritesItToTheOutput()
    {
        SampleResult r = await SampleRun.OneAsync("LeavesAnExceptionUnobserved");
        Assert.Equal(("Failed", "Aio.Testing.AioTestFailureException"), (r.Outcome, r.ExceptionType));
        const string error = "Task exception was never retrieved: <Task finished exception=InvalidOperationException name='failing' coro=LeavesAnExceptionUnobserved.lambda>: System.InvalidOperationException: nobody awaited me";
        Assert.Equal(["1 error(s) reached the loop's exception handler:", error], r.Message!.Split('\n')[..2]);
        Assert.Equal("Loop exception handler: " + error, FirstLine(r.Output));
    }

    [Fact]
    public async Task LoopFact_Hang_FailsWithTheHangReport()
    {
        SampleResult r = await SampleRun.OneAsync("Hangs");
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
        SampleResult r = await SampleRun.OneAsync("TicksForever");
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
        SampleResult r = await SampleRun.OneAsync("SleepsPastTheDeadline");
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
        SampleResult r = await SampleRun.OneAsync("SleepsAnHour");
        Assert.Equal(("Passed", "woke at t=3600"), (r.Outcome, r.Output.TrimEnd('\n')));
        Assert.True(r.Seconds < 1, $"an hour of virtual time took {r.Seconds} s of real time");
    }

    [Fact]
    public async Task LoopFact_RealTime_SleepsOnTheRealClock()
    {
        SampleResult r = await SampleRun.OneAsync("SleepsInRealTime");
        Assert.Equal(("Passed", "slept at least 50 ms"), (r.Outcome, r.Output.TrimEnd('\n')));
        Assert.True(r.Seconds >= 0.05m, $"took {r.Seconds} s");
    }

    [Fact]
    public async Task LoopTheory_DataRows_RunEachRowOnItsOwnLoop()
    {
        List<SampleResult> rows = await SampleRun.ResultsAsync("Rows");
        Assert.Equal(
            [
                ("Aio.Testing.Xunit.Tests.Samples.Rows(seconds: 1, leak: False)", "Passed", "", "row 1 at t=1"),
                ("Aio.Testing.Xunit.Tests.Samples.Rows(seconds: 2, leak: True)", "Failed",
                 "The test body returned with 1 task(s) still pending: <Task pending name='leaked-by-row' coro=Rows.lambda>. Await or cancel every task you start.", "row 2 at t=2"),
            ],
            rows.OrderBy(r => r.DisplayName, StringComparer.Ordinal).Select(r => (r.DisplayName, r.Outcome, FirstLine(r.Message), Normalize(r.Output).TrimEnd('\n'))));
    }

    [Fact]
    public async Task LoopFact_AsyncVoid_FailsWithXunitsOwnMessage()
    {
        // xunit v3 refuses async void test methods itself, before the loop runner sees them.
        SampleResult r = await SampleRun.OneAsync("AsyncVoid");
        Assert.Equal(("Failed", "Tests marked as 'async void' are no longer supported. Please convert to 'async Task' or 'async ValueTask'."), (r.Outcome, r.Message));
    }

    [Fact]
    public async Task LoopFact_ReturnTypes_SyncAndValueTaskPass()
    {
        SampleResult sync = await SampleRun.OneAsync("Synchronous");
        SampleResult valueTask = await SampleRun.OneAsync("ReturnsAValueTask");
        Assert.Equal(("Passed", "on the loop: True", "Passed"), (sync.Outcome, sync.Output.TrimEnd('\n'), valueTask.Outcome));
    }

    [Fact]
    public async Task LoopFact_BodyThrows_ReportsTheBodysException()
    {
        SampleResult r = await SampleRun.OneAsync("Throws");
        Assert.Equal(("Failed", "System.FormatException", "the test's own failure"), (r.Outcome, r.ExceptionType, r.Message));
    }

    // The attributes as a v3 test project uses them: these run under xunit v3 itself, through `dotnet test`.

    [LoopFact]
    public async AioTask LoopFact_AioTaskMethod_RunsOnAVirtualClock()
    {
        await Sleep(30);
        Assert.Equal(30, EventLoop.GetRunningLoop().Time());
    }

    [LoopFact]
    public async Task LoopFact_LoopLog_GoesToTheTestContextsOutput()
    {
        EventLoop.GetRunningLoop().Logger.LogWarning("written by the loop's logger");
        await Sleep(1);
        Assert.Contains("written by the loop's logger", TestContext.Current.TestOutputHelper!.Output, StringComparison.Ordinal);
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

public class PackageTests
{
    // tests/Aio.Tests' log event-id registry check cannot load this package beside xunit v2; it must not need a range.
    [Fact]
    public void Assembly_DeclaresNoLogMessages()
    {
        Assert.Empty(
            from type in typeof(LoopFactAttribute).Assembly.GetTypes()
            from method in type.GetMethods(System.Reflection.BindingFlags.Static | System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.DeclaredOnly)
            where method.GetCustomAttributes(typeof(LoggerMessageAttribute), false).Length > 0
            select $"{type.FullName}.{method.Name}");
    }
}
