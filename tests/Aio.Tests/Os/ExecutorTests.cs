using System.Diagnostics;

namespace Aio.Tests.Os;

public class ExecutorTests
{
    private static readonly AsyncLocal<string?> s_flow = new();

    [Fact]
    public void ToThread_Work_ReturnsResultFromAnotherThread()
    {
        var (value, workerThread, loopThread) = Asyncio.Run(async () =>
        {
            int loopThread = Environment.CurrentManagedThreadId;
            var (v, t) = await Asyncio.ToThread(() => (42, Environment.CurrentManagedThreadId));
            return (v, t, loopThread);
        });
        Assert.Equal(42, value);
        Assert.NotEqual(loopThread, workerThread);
    }

    [Fact]
    public void ToThread_WorkThrows_RethrowsTheException()
    {
        var error = Assert.Throws<InvalidDataException>(() => Asyncio.Run(async () =>
        {
            await Asyncio.ToThread(() => throw new InvalidDataException("from the thread"));
        }));
        Assert.Equal("from the thread", error.Message);
    }

    [Fact]
    public void ToThread_AsyncLocalSetByCaller_FlowsToTheThread()
    {
        string? seen = Asyncio.Run(async () =>
        {
            s_flow.Value = "caller's value";
            return await Asyncio.ToThread(() => s_flow.Value);
        });
        Assert.Equal("caller's value", seen);
    }

    [Fact]
    public void RunInExecutor_CancelledBeforeAThreadTookIt_NeverRuns()
    {
        using var gate = new ManualResetEventSlim();
        int secondRan = 0;
        Asyncio.Run(async () =>
        {
            EventLoop loop = EventLoop.GetRunningLoop();
            loop.DefaultExecutorMaxThreads = 1;
            AioFuture<bool> first = loop.RunInExecutor(() => gate.Wait(TimeSpan.FromSeconds(30)));
            AioFuture<int> second = loop.RunInExecutor(() => Interlocked.Increment(ref secondRan));
            Assert.True(second.Cancel());
            gate.Set();
            Assert.True(await first);
            await Asyncio.ToThread(() => 0); // queued behind `second`: the single thread has passed it
        });
        Assert.Equal(0, secondRan);
    }

    [Fact]
    public void RunInExecutor_AfterShutdown_ThrowsSayingWhatToDo()
    {
        var error = Assert.Throws<InvalidOperationException>(() => Asyncio.Run(async () =>
        {
            EventLoop loop = EventLoop.GetRunningLoop();
            await loop.ShutdownDefaultExecutorAsync();
            _ = loop.RunInExecutor(() => 1);
        }));
        Assert.Contains("shut down", error.Message);
    }

    [Fact]
    public void ShutdownDefaultExecutorAsync_HungThread_ReturnsAfterTimeoutAndReportsIt()
    {
        using var gate = new ManualResetEventSlim();
        var reports = new List<ExceptionContext>();
        var watch = Stopwatch.StartNew();
        try
        {
            Asyncio.Run(async () =>
            {
                EventLoop loop = EventLoop.GetRunningLoop();
                loop.ExceptionHandler = (_, c) => reports.Add(c);
                _ = loop.RunInExecutor(() => gate.Wait(TimeSpan.FromSeconds(60)));
                await Asyncio.Sleep(0.05);
                await loop.ShutdownDefaultExecutorAsync(0.3);
            });
        }
        finally
        {
            gate.Set();
        }
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(20), $"took {watch.Elapsed}");
        ExceptionContext report = Assert.Single(reports);
        Assert.Contains("did not finish within 0.3 seconds", report.Message);
        Assert.Contains("Aio executor #", report.Message);
    }

    [Fact]
    public void RunnerClose_HungExecutorThread_ExitsAfterExecutorShutdownTimeout()
    {
        using var gate = new ManualResetEventSlim();
        var reports = new List<ExceptionContext>();
        var watch = Stopwatch.StartNew();
        try
        {
            using var runner = new Runner();
            EventLoop loop = runner.GetLoop();
            loop.ExecutorShutdownTimeout = 0.3;
            loop.ExceptionHandler = (_, c) => reports.Add(c);
            runner.Run(async () =>
            {
                _ = loop.RunInExecutor(() => gate.Wait(TimeSpan.FromSeconds(60)));
                await Asyncio.Sleep(0.05);
            });
            runner.Close();
        }
        finally
        {
            gate.Set();
        }
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(20), $"took {watch.Elapsed}");
        Assert.Contains(reports, r => r.Message.Contains("did not finish", StringComparison.Ordinal));
    }

    [Fact]
    public void RunCoroutineThreadSafe_From8Threads_EachGetsItsResultFromTheLoopThread()
    {
        int[] results = Asyncio.Run(async () =>
        {
            EventLoop loop = EventLoop.GetRunningLoop();
            int loopThread = Environment.CurrentManagedThreadId;
            var threads = Enumerable.Range(0, 8).Select(i => Task.Factory.StartNew(() =>
            {
                Task<int> submitted = Asyncio.RunCoroutineThreadSafe(async () =>
                {
                    Assert.Equal(loopThread, Environment.CurrentManagedThreadId);
                    await Asyncio.Sleep(0.01);
                    return i * 10;
                }, loop);
                return submitted.GetAwaiter().GetResult(); // a foreign thread may block on it
            }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default)).ToArray();
            return await Task.WhenAll(threads);
        });
        Assert.Equal(Enumerable.Range(0, 8).Select(i => i * 10), results);
    }

    [Fact]
    public void RunCoroutineThreadSafe_TokenCancelled_CancelsTheTaskOnTheLoop()
    {
        var log = new List<string>();
        Asyncio.Run(async () =>
        {
            EventLoop loop = EventLoop.GetRunningLoop();
            using var cts = new CancellationTokenSource();
            Task<int> submitted = Asyncio.RunCoroutineThreadSafe(async () =>
            {
                try
                {
                    log.Add("started");
                    await Asyncio.Sleep(30);
                    return 1;
                }
                catch (CancelledError)
                {
                    log.Add("cancelled");
                    throw;
                }
            }, loop, cts.Token);
            while (log.Count == 0)
            {
                await Asyncio.Sleep(0.01);
            }
            await Task.Run(() => cts.Cancel());
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => submitted);
            Assert.True(submitted.IsCanceled);
        });
        Assert.Equal(["started", "cancelled"], log);
    }

    [Fact]
    public void RunCoroutineThreadSafe_BodyThrows_TaskFaultsWithIt()
    {
        Asyncio.Run(async () =>
        {
            EventLoop loop = EventLoop.GetRunningLoop();
            Task<int> submitted = Task.Run(() => Asyncio.RunCoroutineThreadSafe<int>(async () =>
            {
                await Asyncio.Sleep(0);
                throw new FormatException("bad");
            }, loop));
            var e = await Assert.ThrowsAsync<FormatException>(() => submitted);
            Assert.Equal("bad", e.Message);
        });
    }
}
