using Aio.Testing;
using static Aio.Asyncio;

namespace Aio.Tests.Tasks;

public sealed class TaskTests
{
    [Fact]
    public void CreateTask_BodyStartsOnNextIteration()
    {
        var events = new List<string>();
        AioTest.Run(async () =>
        {
            AioTask t = CreateTask(async () => { events.Add("body"); await Task.CompletedTask; });
            events.Add("created");
            Assert.False(t.Done);
            await Sleep(0);
            events.Add("after-yield");
            await t;
        });
        Assert.Equal(new[] { "created", "body", "after-yield" }, events);
    }

    [Fact]
    public void Cancel_BeforeFirstStep_BodyNeverRuns()
    {
        bool ran = false;
        AioTest.Run(async () =>
        {
            AioTask t = CreateTask(async () => { ran = true; await Sleep(1); });
            Assert.True(t.Cancel());
            await Assert.ThrowsAsync<CancelledError>(async () => await t);
            Assert.True(t.Cancelled);
        });
        Assert.False(ran);
    }

    [LoopFact]
    public async Task Cancel_DoneTask_ReturnsFalse()
    {
        AioTask<int> t = CreateTask(async () => { await Sleep(0); return 1; });
        await t;
        Assert.False(t.Cancel());
        Assert.Equal(1, t.Result());
    }

    [Fact]
    public void Await_TaskResult_ReturnsValue()
    {
        int v = AioTest.Run(async () => await CreateTask(async () => { await Sleep(0.5); return 42; }));
        Assert.Equal(42, v);
    }

    [LoopFact]
    public async Task Await_FailedTask_RethrowsOriginalException()
    {
        AioTask t = CreateTask(async () => { await Sleep(0); throw new InvalidOperationException("bad"); });
        var e = await Assert.ThrowsAsync<InvalidOperationException>(async () => await t);
        Assert.Equal("bad", e.Message);
        Assert.Same(e, t.Exception());
    }

    [LoopFact]
    public async Task Result_Pending_ThrowsInvalidState()
    {
        AioTask<int> t = CreateTask(async () => { await Sleep(1); return 1; });
        Assert.Throws<InvalidStateError>(() => t.Result());
        Assert.Throws<InvalidStateError>(() => t.Exception());
        await t;
    }

    [Fact]
    public void AddDoneCallback_RunsViaLoopNotInline_InRegistrationOrder()
    {
        var events = new List<string>();
        AioTest.Run(async () =>
        {
            AioFuture<int> f = EventLoop.GetRunningLoop().CreateFuture<int>();
            f.AddDoneCallback(_ => events.Add("cb1"));
            f.AddDoneCallback(_ => events.Add("cb2"));
            f.SetResult(1);
            events.Add("after-set");
            await Sleep(0);
            f.AddDoneCallback(_ => events.Add("cb3-late"));
            events.Add("after-late-add");
            await Sleep(0);
        });
        Assert.Equal(new[] { "after-set", "cb1", "cb2", "after-late-add", "cb3-late" }, events);
    }

    [Fact]
    public void RemoveDoneCallback_TypedCallback_IsRemoved()
    {
        var events = new List<string>();
        AioTest.Run(async () =>
        {
            AioFuture<int> f = EventLoop.GetRunningLoop().CreateFuture<int>();
            Action<AioFuture<int>> typed = _ => events.Add("typed");
            f.AddDoneCallback(typed);
            f.AddDoneCallback(_ => events.Add("kept"));
            Assert.Equal(1, f.RemoveDoneCallback(typed));
            f.SetResult(1);
            await Sleep(0);
        });
        Assert.Equal(new[] { "kept" }, events);
    }

    [Fact]
    public void Gather_TasksOfTwoLoops_ThrowsNamingBoth()
    {
        using var other = new EventLoop(new VirtualClock());
        AioTask<int> foreign = other.CreateTask(async () => { await Task.CompletedTask; return 1; });
        AioTest.Run(async () =>
        {
            AioTask<int> mine = CreateTask(async () => { await Sleep(0); return 2; });
            var e = await Assert.ThrowsAsync<ArgumentException>(() => Gather(mine, foreign));
            Assert.Contains("one loop", e.Message);
            await mine;
        });
        other.RunUntilComplete(foreign);
    }

    [LoopFact]
    public async Task Future_SetResultTwice_ThrowsInvalidState()
    {
        AioFuture<int> f = EventLoop.GetRunningLoop().CreateFuture<int>();
        f.SetResult(1);
        Assert.Throws<InvalidStateError>(() => f.SetResult(2));
        Assert.Equal(1, await f);
    }

    [LoopFact]
    public async Task Future_Cancel_AwaitThrowsCancelledErrorWithMessage()
    {
        AioFuture<int> f = EventLoop.GetRunningLoop().CreateFuture<int>();
        Assert.True(f.Cancel("nope"));
        Assert.False(f.Cancel());
        var e = await Assert.ThrowsAsync<CancelledError>(async () => await f);
        Assert.Equal("nope", e.Message);
    }

    [LoopFact]
    public async Task CancelTask_WhileAwaitingFuture_CancelsThatFuture()
    {
        AioFuture<int> f = EventLoop.GetRunningLoop().CreateFuture<int>();
        AioTask t = CreateTask(async () => await f);
        await Sleep(0);
        t.Cancel("stop");
        await Assert.ThrowsAsync<CancelledError>(async () => await t);
        Assert.True(f.Cancelled);
    }

    [Fact]
    public void CancelTask_WhileAwaitingOtherTask_CancelsItAndWaitsForIt()
    {
        var events = new List<string>();
        AioTest.Run(async () =>
        {
            AioTask inner = CreateTask(async () =>
            {
                try
                {
                    await Sleep(10);
                }
                finally
                {
                    events.Add("inner-cleanup");
                }
            });
            AioTask outer = CreateTask(async () =>
            {
                try
                {
                    await inner;
                }
                finally
                {
                    events.Add("outer-resumed");
                }
            });
            await Sleep(1);
            outer.Cancel();
            await Assert.ThrowsAsync<CancelledError>(async () => await outer);
            Assert.True(inner.Cancelled);
        });
        Assert.Equal(new[] { "inner-cleanup", "outer-resumed" }, events);
    }

    [LoopFact]
    public async Task Await_Self_Throws()
    {
        AioTask? self = null;
        self = CreateTask(async () => await self!);
        var e = await Assert.ThrowsAsync<InvalidOperationException>(async () => await self);
        Assert.Contains("itself", e.Message);
    }

    [LoopFact]
    public async Task CurrentTask_InsideTask_IsThatTask_AllTasksListsPending()
    {
        AioTask<AioTask?> t = CreateTask(async () => { await Sleep(0); return CurrentTask(); }, "probe");
        Assert.Contains(t, AllTasks());
        Assert.Same(t, await t);
        Assert.DoesNotContain(t, AllTasks());
        Assert.Equal("probe", t.Name);
    }

    [LoopFact]
    public async Task Name_Default_IsTaskN_AndToStringShowsState()
    {
        Func<Task> body = async () => await Sleep(0); // a delegate body: a lambda passed directly would be a coroutine (coro=… in the text)
        AioTask t = CreateTask(body);
        Assert.Matches(@"^Task-\d+$", t.Name);
        Assert.Equal($"<Task pending name='{t.Name}'>", t.ToString());
        await t;
        Assert.Equal($"<Task finished name='{t.Name}'>", t.ToString());
    }

    [Fact]
    public void UnretrievedException_ReportedAtLoopClose()
    {
        var contexts = new List<ExceptionContext>();
        var loop = new EventLoop(new VirtualClock());
        loop.ExceptionHandler = (_, c) => contexts.Add(c);
        AioTask? kept = null;
        loop.RunUntilComplete(async () =>
        {
            kept = CreateTask(async () => { await Sleep(0); throw new InvalidOperationException("lost"); }, "loser");
            await Sleep(1);
        });
        loop.Close();
        ExceptionContext c = Assert.Single(contexts);
        Assert.Contains("exception was never retrieved", c.Message);
        Assert.Contains("loser", c.Message);
        Assert.IsType<InvalidOperationException>(c.Exception);
        GC.KeepAlive(kept);
    }

    [Fact]
    public void UnretrievedException_ReportedWhenTaskCollected()
    {
        var contexts = new List<ExceptionContext>();
        var loop = new EventLoop(new VirtualClock());
        loop.ExceptionHandler = (_, c) => contexts.Add(c);
        loop.RunUntilComplete(async () =>
        {
            StartAndForget();
            await Sleep(1);
            for (int i = 0; i < 10 && contexts.Count == 0; i++)
            {
                GC.Collect();
                GC.WaitForPendingFinalizers();
                await Sleep(0);
            }
        });
        Assert.Contains(contexts, c => c.Message.Contains("never retrieved", StringComparison.Ordinal));
        loop.Close();

        static void StartAndForget() =>
            _ = CreateTask(async () => { await Sleep(0); throw new InvalidOperationException("collected"); });
    }

    [Fact]
    public void RetrievedException_NotReported()
    {
        var contexts = new List<ExceptionContext>();
        var loop = new EventLoop(new VirtualClock());
        loop.ExceptionHandler = (_, c) => contexts.Add(c);
        loop.RunUntilComplete(async () =>
        {
            AioTask t = CreateTask(async () => { await Sleep(0); throw new InvalidOperationException("seen"); });
            await Sleep(1);
            Assert.NotNull(t.Exception());
        });
        loop.Close();
        Assert.Empty(contexts);
    }

    [Fact]
    public void PendingTasksAtClose_AreReportedByName()
    {
        var contexts = new List<ExceptionContext>();
        var loop = new EventLoop(new VirtualClock());
        loop.ExceptionHandler = (_, c) => contexts.Add(c);
        loop.RunUntilComplete(async () =>
        {
            _ = CreateTask(async () => await Sleep(100), "sleeper");
            await Sleep(0);
        });
        loop.Close();
        Assert.Contains(contexts, c => c.Message.Contains("pending", StringComparison.Ordinal) && c.Message.Contains("sleeper", StringComparison.Ordinal));
    }

    [Fact]
    public void CreateTask_StatefulStaticBody_PassesState()
    {
        int v = AioTest.Run(async () => await CreateTask(static async (int x) => { await Sleep(0); return x * 2; }, 21));
        Assert.Equal(42, v);
    }

    [Fact]
    public void AsTask_CompletesWithResult()
    {
        int v = AioTest.Run(async () =>
        {
            AioTask<int> t = CreateTask(async () => { await Sleep(2); return 7; });
            return await t.AsTask();
        });
        Assert.Equal(7, v);
    }

    [Fact]
    public void Body_ConfigureAwaitFalse_TaskStillFinishes()
    {
        int v = AioTest.Run(async () =>
        {
            AioTask<int> t = CreateTask(async () =>
            {
                await Task.Delay(5).ConfigureAwait(false);   // real: a foreign await that resumes off the loop is the point
                return 5;
            });
            return await t;
        }, virtualTime: false);
        Assert.Equal(5, v);
    }
}
