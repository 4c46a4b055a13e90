namespace Aio.Tests;

/// <summary>
/// Callbacks run in the ExecutionContext captured when they were scheduled, and running the loop leaves the
/// caller's context as it found it (an AsyncLocal set inside a callback never reaches the caller or another callback).
/// </summary>
public sealed class ExecutionContextTests
{
    private static readonly AsyncLocal<string?> s_flow = new();

    [Fact]
    public void AddDoneCallback_AsyncLocalSetByCaller_FlowsToTheCallback()
    {
        using var loop = new EventLoop();
        var seen = new List<string?>();
        loop.RunUntilComplete(async () =>
        {
            AioFuture<int> future = loop.CreateFuture<int>();
            s_flow.Value = "registered";
            future.AddDoneCallback(_ => seen.Add("untyped " + s_flow.Value));
            future.AddDoneCallback((AioFuture<int> _) => seen.Add("typed " + s_flow.Value));
            s_flow.Value = "completed";
            future.SetResult(1);
            s_flow.Value = null;
            await Asyncio.Sleep(0);
            seen.Add("task " + s_flow.Value);
        });
        Assert.Equal(new[] { "untyped registered", "typed registered", "task " }, seen);
    }

    [Fact]
    public void RemoveDoneCallback_CallbackRegisteredWithAsyncLocalSet_IsRemoved()
    {
        using var loop = new EventLoop();
        var seen = new List<string>();
        Action<AioFuture> callback = _ => seen.Add("ran");
        loop.RunUntilComplete(async () =>
        {
            AioFuture future = loop.CreateFuture();
            s_flow.Value = "registered";
            future.AddDoneCallback(callback);
            seen.Add("removed " + future.RemoveDoneCallback(callback));
            future.SetResult();
            await Asyncio.Sleep(0);
        });
        Assert.Equal(new[] { "removed 1" }, seen);
    }

    [Fact]
    public void RunUntilComplete_DoneCallbackSetsAsyncLocal_LeavesTheCallersContextAsItWas()
    {
        using var loop = new EventLoop();
        var seen = new List<string?>();
        s_flow.Value = "caller";
        try
        {
            loop.RunUntilComplete(async () =>
            {
                AioFuture future = loop.CreateFuture();
                future.AddDoneCallback(_ => s_flow.Value = "set by the done callback");
                future.SetResult();
                await Asyncio.Sleep(0);
                loop.CallSoon(() => seen.Add("next callback " + s_flow.Value));
                await Asyncio.Sleep(0);
            });
            seen.Add("caller " + s_flow.Value);
        }
        finally
        {
            s_flow.Value = null;
        }
        Assert.Equal(new[] { "next callback caller", "caller caller" }, seen);
    }

    [Fact]
    public void RunForever_CallSoonScheduledBeforeTheRunSetsAsyncLocal_DoesNotLeakToTheNextCallbackOrTheCaller()
    {
        using var loop = new EventLoop();
        var seen = new List<string?>();
        loop.CallSoon(() => s_flow.Value = "set by a callback");
        loop.CallSoon(static s => s.Add("stateful " + s_flow.Value), seen);
        loop.CallSoon(() => seen.Add("plain " + s_flow.Value));
        loop.CallSoon(loop.Stop);
        loop.RunForever();
        seen.Add("caller " + s_flow.Value);
        Assert.Equal(new[] { "stateful ", "plain ", "caller " }, seen);
    }

    [Fact]
    public void RunForever_CallbackThrowsAfterSettingAsyncLocal_ContextIsStillRestored()
    {
        using var loop = new EventLoop();
        var seen = new List<string?>();
        loop.ExceptionHandler = (_, _) => seen.Add("reported");
        loop.CallSoon(() =>
        {
            s_flow.Value = "set before throwing";
            throw new InvalidOperationException("boom");
        });
        loop.CallSoon(() => seen.Add("next " + s_flow.Value));
        loop.CallSoon(loop.Stop);
        loop.RunForever();
        seen.Add("caller " + s_flow.Value);
        Assert.Equal(new[] { "reported", "next ", "caller " }, seen);
    }

    [Fact]
    public void CallLater_AsyncLocalSetByCaller_FlowsToTheCallback_AndNotFurther()
    {
        using var loop = new EventLoop(new VirtualClock());
        var seen = new List<string?>();
        s_flow.Value = "scheduler";
        try
        {
            loop.CallLater(1, () =>
            {
                seen.Add("timer " + s_flow.Value);
                s_flow.Value = "changed inside";
            });
        }
        finally
        {
            s_flow.Value = null;
        }
        loop.CallLater(2, () => seen.Add("second timer " + s_flow.Value));
        loop.CallLater(3, loop.Stop);
        loop.RunForever();
        seen.Add("caller " + s_flow.Value);
        Assert.Equal(new[] { "timer scheduler", "second timer ", "caller " }, seen);
    }
}
