namespace Aio.Tests;

/// <summary>
/// The thread rule of loop objects: the same check every time, whatever was done with the object before, and a
/// message that names the member called and, from a thread-pool thread, the usual cause.
/// </summary>
public sealed class ThreadRuleTests
{
    /// <summary>Runs <paramref name="action"/> on a thread-pool thread and returns what it threw (the wait completes without the loop).</summary>
    /// <remarks>Not Task.Run(…).Wait(): a wait may run a task not yet started inline, on the waiting thread.</remarks>
    private static Exception? OnPoolThread(Action action)
    {
        var done = new TaskCompletionSource<Exception?>(TaskCreationOptions.RunContinuationsAsynchronously);
        ThreadPool.QueueUserWorkItem(_ => done.SetResult(Record.Exception(action)));
        return done.Task.GetAwaiter().GetResult();
    }

    public static TheoryData<string> Primitives => new() { "AioEvent.Set", "AioQueue.PutNowait", "AioLock.Release", "AioSemaphore.Release", "AioCondition.NotifyAll" };

    [Theory]
    [MemberData(nameof(Primitives))]
    public void Primitive_CreatedOnTheLoopThread_CalledFromAPoolThreadBeforeAnyUse_Throws(string which)
    {
        using var loop = new EventLoop();
        Exception? error = null;
        loop.RunUntilComplete(async () =>
        {
            await Asyncio.Sleep(0);
            Action call = which switch
            {
                "AioEvent.Set" => new AioEvent().Set,
                "AioQueue.PutNowait" => CallOn(new AioQueue<int>(), static q => q.PutNowait(1)),
                "AioLock.Release" => new AioLock().Release,
                "AioSemaphore.Release" => new AioSemaphore(1).Release,
                "AioCondition.NotifyAll" => new AioCondition().NotifyAll,
                _ => throw new ArgumentException(which),
            };
            error = OnPoolThread(call);
        });
        var e = Assert.IsType<InvalidOperationException>(error);
        Assert.StartsWith(which.Split('.')[1] + " was called on thread-pool thread", e.Message);
    }

    private static Action CallOn<T>(T target, Action<T> call) => () => call(target);

    [Fact]
    public void AioEvent_CreatedOutsideALoop_BindsOnFirstUseOnALoop()
    {
        var ev = new AioEvent();
        var events = new List<string>();
        events.Add("before any loop: " + (OnPoolThread(ev.Set) is null ? "ok" : "threw"));
        ev.Clear();
        using var loop = new EventLoop();
        loop.RunUntilComplete(async () =>
        {
            ev.Set();
            await Asyncio.Sleep(0);
            events.Add("after use on a loop: " + OnPoolThread(ev.Clear)?.GetType().Name);
        });
        Assert.Equal(new[] { "before any loop: ok", "after use on a loop: InvalidOperationException" }, events);
    }

    [Fact]
    public void AioFutureResult_FromAnotherThread_ThrowsLikeCancel()
    {
        using var loop = new EventLoop();
        var errors = new List<string?>();
        loop.RunUntilComplete(async () =>
        {
            AioFuture<int> future = loop.CreateFuture<int>();
            future.SetResult(5);
            errors.Add(OnPoolThread(() => future.Result())?.Message.Split(" was called")[0]);
            errors.Add(OnPoolThread(() => future.Exception())?.Message.Split(" was called")[0]);
            errors.Add(OnPoolThread(() => future.Cancel())?.Message.Split(" was called")[0]);
            errors.Add(OnPoolThread(() => _ = future.Done)?.Message);
            errors.Add(OnPoolThread(() => _ = future.ToString())?.Message);
            await Asyncio.Sleep(0);
        });
        Assert.Equal(new[] { "Result", "Exception", "Cancel", null, null }, errors);
    }

    [Fact]
    public void AioTaskName_SetFromAnotherThread_Throws_ReadFromAnotherThread_Works()
    {
        using var loop = new EventLoop();
        var seen = new List<string?>();
        loop.RunUntilComplete(async () =>
        {
            AioTask task = Asyncio.CreateTask(async () => await Asyncio.Sleep(0), name: "worker");
            seen.Add(OnPoolThread(() => task.Name = "renamed")?.Message.Split(" was called")[0]);
            string? read = null;
            seen.Add(OnPoolThread(() => read = task.Name)?.Message);
            seen.Add(read);
            await task;
        });
        Assert.Equal(new[] { "Name", null, "worker" }, seen);
    }

    /// <summary>Runs <paramref name="call"/> on a pool thread while a loop runs (as code that left the loop does) and returns the message.</summary>
    private static string MessageFromPoolThreadWhileALoopRuns(Func<EventLoop, Action> call)
    {
        using var loop = new EventLoop();
        Exception? error = null;
        loop.RunUntilComplete(async () =>
        {
            Action action = call(loop);
            error = await Task.Run(() => Record.Exception(action));
        });
        return Assert.IsType<InvalidOperationException>(error).Message;
    }

    private static void AssertNamesPoolThreadCauseAndCure(string member, string message)
    {
        var facts = new List<string>
        {
            message.StartsWith(member + " was called on thread-pool thread", StringComparison.Ordinal) ? "names the member and the pool thread" : message,
            message.Contains("runs on another thread", StringComparison.Ordinal) ? "says a loop runs elsewhere" : message,
            message.Contains("ConfigureAwait(false)", StringComparison.Ordinal) && message.Contains("Task.Run", StringComparison.Ordinal) ? "names the usual cause" : message,
            message.Contains("async AioTask", StringComparison.Ordinal) ? "names the cure" : message,
            message.Contains("GetRunningLoop", StringComparison.Ordinal) || message.Contains("Start one with", StringComparison.Ordinal) ? message : "no internal member, no second loop",
        };
        Assert.Equal(
            new[] { "names the member and the pool thread", "says a loop runs elsewhere", "names the usual cause", "names the cure", "no internal member, no second loop" },
            facts);
    }

    [Fact]
    public void CreateTask_FromAPoolThreadWhileALoopRuns_NamesCreateTaskTheUsualCauseAndTheCure() =>
        AssertNamesPoolThreadCauseAndCure("CreateTask", MessageFromPoolThreadWhileALoopRuns(_ => () => Asyncio.CreateTask(async () => await Asyncio.Sleep(0))));

    [Fact]
    public void Sleep_FromAPoolThreadWhileALoopRuns_NamesSleepTheUsualCauseAndTheCure() =>
        AssertNamesPoolThreadCauseAndCure("Sleep", MessageFromPoolThreadWhileALoopRuns(_ => () => Asyncio.Sleep(1)));

    [Fact]
    public void PutAsync_QueueCreatedOnTheLoop_FromAPoolThread_NamesPutAsyncTheUsualCauseAndTheCure()
    {
        string message = MessageFromPoolThreadWhileALoopRuns(_ =>
        {
            var queue = new AioQueue<int>();
            return () => queue.PutAsync(1);
        });
        AssertNamesPoolThreadCauseAndCure("PutAsync", message);
    }

    [Fact]
    public void PutAsync_QueueCreatedOutsideALoop_FromAPoolThread_NamesPutAsyncTheUsualCauseAndTheCure()
    {
        var queue = new AioQueue<int>();
        AssertNamesPoolThreadCauseAndCure("PutAsync", MessageFromPoolThreadWhileALoopRuns(_ => () => queue.PutAsync(1)));
    }

    [Fact]
    public void CreateTask_OnAThreadOfItsOwnWithNoLoop_SaysToStartOne()
    {
        Exception? error = null;
        var thread = new Thread(() => error = Record.Exception(() => Asyncio.CreateTask(async () => await Asyncio.Sleep(0))));
        thread.Start();
        thread.Join();
        Assert.Equal(
            "CreateTask needs a running event loop on this thread, and there is none. Start one with Asyncio.Run(main) or loop.RunUntilComplete(main).",
            Assert.IsType<InvalidOperationException>(error).Message);
    }
}
