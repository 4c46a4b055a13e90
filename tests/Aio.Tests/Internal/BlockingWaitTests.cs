namespace Aio.Tests.Internal;

/// <summary>
/// A blocking wait on the loop's own thread for a Task only the loop can complete is refused at once (it could
/// never end); blocking waits that can end without the loop, and waits from other threads, work as before.
/// </summary>
public sealed class BlockingWaitTests
{
    private static string Refusal(Action wait)
    {
        var outer = Assert.IsType<TaskSchedulerException>(Record.Exception(wait));
        return Assert.IsType<InvalidOperationException>(outer.InnerException).Message;
    }

    [Fact]
    public void AsTask_WaitedOnTheLoopThread_IsRefusedAtOnce_AndCanStillBeAwaited()
    {
        using var loop = new EventLoop();
        var events = new List<string>();
        loop.RunUntilComplete(async () =>
        {
            AioFuture future = loop.CreateFuture();
            Task task = future.AsTask();
            string message = Refusal(() => task.Wait());
            events.Add(message.StartsWith("The Task from <AioFuture pending>.AsTask() was waited for synchronously", StringComparison.Ordinal) ? "refused" : message);
            events.Add(message.Contains("Await it instead", StringComparison.Ordinal) ? "says what to do" : message);
            future.SetResult();
            await task;
            events.Add("awaited " + task.Status);
        });
        Assert.Equal(new[] { "refused", "says what to do", "awaited RanToCompletion" }, events);
    }

    [Fact]
    public void AsTask_OfAFutureOfT_ResultOnTheLoopThread_IsRefused()
    {
        using var loop = new EventLoop();
        string? message = null;
        loop.RunUntilComplete(async () =>
        {
            AioFuture<int> future = loop.CreateFuture<int>();
            Task<int> task = future.AsTask();
            message = Refusal(() => _ = task.Result);
            future.SetResult(3);
            Assert.Equal(3, await task);
        });
        Assert.StartsWith("The Task from <AioFuture pending>.AsTask() was waited for synchronously", message);
    }

    [Fact]
    public void AsTask_OfATask_GetAwaiterGetResultOnTheLoopThread_IsRefused()
    {
        using var loop = new EventLoop();
        string? message = null;
        loop.RunUntilComplete(async () =>
        {
            AioTask<int> child = loop.CreateTask(async () =>
            {
                await Asyncio.Sleep(0);
                return 4;
            }, name: "child");
            Task<int> task = child.AsTask();
            message = Refusal(() => task.GetAwaiter().GetResult());
            Assert.Equal(4, await task);
        });
        Assert.StartsWith("The Task from <Task pending name='child'", message);
    }

    [Fact]
    public void RunCoroutineThreadSafe_WaitedOnTheLoopThread_IsRefusedAtOnce()
    {
        using var loop = new EventLoop();
        string? message = null;
        int result = 0;
        loop.RunUntilComplete(async () =>
        {
            Task<int> submitted = Asyncio.RunCoroutineThreadSafe(async () =>
            {
                await Asyncio.Sleep(0);
                return 5;
            }, loop);
            message = Refusal(() => submitted.Wait());
            result = await submitted;
        });
        Assert.StartsWith("The Task returned by Asyncio.RunCoroutineThreadSafe was waited for synchronously", message);
        Assert.Equal(5, result);
    }

    [Fact]
    public void AsTask_WaitedFromAnotherThread_BlocksUntilTheLoopCompletesIt()
    {
        using var loop = new EventLoop();
        int seen = 0;
        loop.RunUntilComplete(async () =>
        {
            AioFuture<int> future = loop.CreateFuture<int>();
            Task<int> task = future.AsTask();
            Task<int> waiter = Task.Factory.StartNew(() => task.Result, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
            await Asyncio.Sleep(0.05);
            future.SetResult(6);
            seen = await waiter;
        });
        Assert.Equal(6, seen);
    }

    [Fact]
    public void BlockingWait_OnTheLoopThreadForWorkThatEndsWithoutTheLoop_StillWorks()
    {
        using var loop = new EventLoop();
        var results = new List<int>();
        loop.RunUntilComplete(async () =>
        {
            results.Add(Task.Run(() => 1).Result);
            var tcs = new TaskCompletionSource<int>();
            ThreadPool.QueueUserWorkItem(_ => tcs.SetResult(2));
            results.Add(tcs.Task.GetAwaiter().GetResult());
            await Asyncio.Sleep(0);
        });
        Assert.Equal(new[] { 1, 2 }, results);
    }
}
