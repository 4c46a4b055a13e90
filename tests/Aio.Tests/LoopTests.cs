using Aio.Testing;

namespace Aio.Tests;

/// <summary>The loop's contract, run once per poller back end.</summary>
public abstract class LoopTests
{
    protected abstract string Poller { get; }

    private EventLoop NewLoop(IClock? clock = null) => new(clock ?? MonotonicClock.Instance, Poller);

    [Fact]
    public void CallSoon_ManyCallbacks_RunInFifoOrder()
    {
        using var loop = NewLoop();
        var order = new List<int>();
        for (int i = 0; i < 10; i++)
        {
            int k = i;
            loop.CallSoon(() => order.Add(k));
        }
        loop.CallSoon(loop.Stop);
        loop.RunForever();
        Assert.Equal(Enumerable.Range(0, 10), order);
    }

    [Fact]
    public void CallSoon_ScheduledDuringIteration_RunsInNextIteration()
    {
        using var loop = NewLoop();
        var events = new List<string>();
        loop.CallSoon(() =>
        {
            events.Add("a");
            loop.CallSoon(() => events.Add("c"));
        });
        loop.CallSoon(() => events.Add("b"));
        loop.Stop();
        loop.RunForever(); // exactly one iteration: a, b; c was scheduled by it and waits
        Assert.Equal(new[] { "a", "b" }, events);
        loop.Stop();
        loop.RunForever();
        Assert.Equal(new[] { "a", "b", "c" }, events);
    }

    [Fact]
    public void Stop_BeforeRun_RunsOneIterationThenReturns()
    {
        using var loop = NewLoop();
        int ran = 0;
        loop.CallSoon(() => ran++);
        loop.Stop();
        loop.RunForever();
        Assert.Equal(1, ran);
        Assert.False(loop.IsRunning);
    }

    [Fact]
    public void Stop_DuringRun_FinishesCurrentBatchOnly()
    {
        using var loop = NewLoop();
        var events = new List<string>();
        loop.CallSoon(() =>
        {
            events.Add("stop");
            loop.Stop();
            loop.CallSoon(() => events.Add("next-run"));
        });
        loop.CallSoon(() => events.Add("same-batch"));
        loop.RunForever();
        Assert.Equal(new[] { "stop", "same-batch" }, events);
        loop.Stop();
        loop.RunForever();
        Assert.Equal(new[] { "stop", "same-batch", "next-run" }, events);
    }

    [Fact]
    public void CallSoon_CallbackThrows_HandlerGetsItAndLoopContinues()
    {
        using var loop = NewLoop();
        var contexts = new List<ExceptionContext>();
        loop.ExceptionHandler = (_, c) => contexts.Add(c);
        bool after = false;
        loop.CallSoon(() => throw new InvalidOperationException("boom"));
        loop.CallSoon(() => after = true);
        loop.CallSoon(loop.Stop);
        loop.RunForever();
        Assert.True(after);
        ExceptionContext c = Assert.Single(contexts);
        Assert.IsType<InvalidOperationException>(c.Exception);
        Assert.StartsWith("Exception in callback", c.Message);
    }

    [Fact]
    public void ExceptionHandler_Throws_IsNotPropagatedAndLoopContinues()
    {
        using var loop = NewLoop();
        loop.ExceptionHandler = (_, _) => throw new InvalidOperationException("handler is broken");
        bool after = false;
        loop.CallSoon(() => throw new InvalidOperationException("boom"));
        loop.CallSoon(() => after = true);
        loop.CallSoon(loop.Stop);
        var savedErr = Console.Error;
        Console.SetError(TextWriter.Null);
        try
        {
            loop.RunForever();
        }
        finally
        {
            Console.SetError(savedErr);
        }
        Assert.True(after);
    }

    [Fact]
    public void Handle_CancelledBeforeRun_DoesNotRun()
    {
        using var loop = NewLoop();
        bool ran = false;
        Handle h = loop.CallSoon(() => ran = true);
        h.Cancel();
        loop.Stop();
        loop.RunForever();
        Assert.False(ran);
        Assert.True(h.Cancelled);
    }

    [Fact]
    public void Handle_CancelledAfterRun_StaysNotCancelled()
    {
        using var loop = NewLoop();
        int ran = 0;
        Handle h = loop.CallSoon(() => ran++);
        loop.Stop();
        loop.RunForever();
        h.Cancel();
        Assert.Equal(1, ran);
        Assert.False(h.Cancelled);
    }

    [Fact]
    public void Handle_CopiesAndManyHandles_CancelExactlyTheOnesCancelled()
    {
        using var loop = NewLoop();
        var ran = new List<int>();
        var handles = new List<Handle>();
        for (int i = 0; i < 200; i++)
        {
            handles.Add(loop.CallSoon(static s => s.List.Add(s.I), (List: ran, I: i)));
        }
        Handle copy = handles[70];
        copy.Cancel();
        handles[0].Cancel();
        handles[199].Cancel();
        handles[0].Cancel(); // idempotent
        Assert.True(handles[70].Cancelled);
        Assert.Equal(copy, handles[70]);
        Assert.NotEqual(handles[70], handles[71]);
        loop.Stop();
        loop.RunForever();
        Assert.Equal(Enumerable.Range(1, 198).Where(i => i != 70), ran);
        Assert.True(handles[0].Cancelled && handles[70].Cancelled && handles[199].Cancelled);
        Assert.False(handles[1].Cancelled);
        Assert.StartsWith("<Handle cancelled ", handles[0].ToString());
    }

    [Fact]
    public void Handle_CancelFromAnotherThread_Throws()
    {
        using var loop = NewLoop();
        Handle h = loop.CallSoon(() => { });
        Exception? error = null;
        var t = new Thread(() => error = Record.Exception(h.Cancel));
        t.Start();
        t.Join();
        Assert.IsType<InvalidOperationException>(error);
        Assert.False(h.Cancelled);
    }

    private static readonly AsyncLocal<string?> s_flow = new();

    [Fact]
    public void CallSoon_AsyncLocalSetByCaller_FlowsToTheCallback()
    {
        using var loop = NewLoop();
        var seen = new List<string?>();
        s_flow.Value = "outer";
        try
        {
            loop.CallSoon(() => seen.Add(s_flow.Value));
            loop.CallSoon(static s => s.Add(s_flow.Value), seen);
            s_flow.Value = null;
            loop.CallSoon(() => seen.Add(s_flow.Value));
            loop.CallSoon(loop.Stop);
            loop.RunForever();
        }
        finally
        {
            s_flow.Value = null;
        }
        Assert.Equal(new[] { "outer", "outer", null }, seen);
    }

    [Fact]
    public void CallSoon_CallbackThrows_ContextNamesTheCallbackAndItsHandle()
    {
        using var loop = NewLoop();
        var contexts = new List<ExceptionContext>();
        loop.ExceptionHandler = (_, c) => contexts.Add(c);
        Handle h = loop.CallSoon(static _ => throw new InvalidOperationException("boom"), 1);
        loop.CallSoon(loop.Stop);
        loop.RunForever();
        ExceptionContext c = Assert.Single(contexts);
        Assert.Contains(nameof(CallSoon_CallbackThrows_ContextNamesTheCallbackAndItsHandle), c.Message);
        Assert.Equal(h, c.Handle);
    }

    [Fact]
    public void CallLater_EqualDeadlines_RunInSchedulingOrder()
    {
        using var loop = NewLoop(new VirtualClock());
        var order = new List<int>();
        for (int i = 0; i < 20; i++)
        {
            int k = i;
            loop.CallAt(5.0, () => order.Add(k));
        }
        loop.CallAt(1.0, () => order.Add(-1));
        loop.CallAt(5.0, loop.Stop);
        loop.RunForever();
        Assert.Equal(new[] { -1 }.Concat(Enumerable.Range(0, 20)), order);
        Assert.Equal(5.0, loop.Time());
    }

    [Fact]
    public void CallLater_ZeroDelay_RunsAfterAlreadyQueuedCallSoon()
    {
        using var loop = NewLoop();
        var order = new List<string>();
        loop.CallLater(0, () => order.Add("later"));
        loop.CallSoon(() => order.Add("soon"));
        loop.CallLater(0.001, loop.Stop);
        loop.RunForever();
        Assert.Equal(new[] { "soon", "later" }, order);
    }

    [Fact]
    public void TimerHandle_Cancel_TimerNeverFires()
    {
        using var loop = NewLoop(new VirtualClock());
        bool fired = false;
        TimerHandle t = loop.CallLater(1, () => fired = true);
        loop.CallLater(0.5, t.Cancel);
        loop.CallLater(2, loop.Stop);
        loop.RunForever();
        Assert.False(fired);
        Assert.Equal(1.0, t.When);
    }

    [Fact]
    public void TimerHeap_ManyCancelledTimers_AreCompacted()
    {
        using var loop = NewLoop(new VirtualClock());
        var handles = Enumerable.Range(0, 1000).Select(i => loop.CallLater(10 + i, () => { })).ToList();
        foreach (TimerHandle h in handles.Take(900))
        {
            h.Cancel();
        }
        Assert.Equal(100, loop.LiveTimerCount);
        loop.CallLater(1, loop.Stop);
        loop.RunForever();
        Assert.Equal(100, loop.LiveTimerCount);
    }

    [Fact]
    public void CallLater_NaN_Throws()
    {
        using var loop = NewLoop();
        var e = Assert.Throws<ArgumentException>(() => loop.CallLater(double.NaN, () => { }));
        Assert.Contains("NaN", e.Message);
    }

    [Fact]
    public void CallSoonThreadSafe_FourThreadsManyPosts_LosesNoneAndWakesBlockedLoop()
    {
        using var loop = NewLoop();
        const int threads = 4, posts = 100_000;
        int count = 0;
        var workers = new List<Thread>();
        for (int t = 0; t < threads; t++)
        {
            workers.Add(new Thread(() =>
            {
                for (int i = 0; i < posts; i++)
                {
                    loop.CallSoonThreadSafe(() =>
                    {
                        if (++count == threads * posts)
                        {
                            loop.Stop();
                        }
                    });
                }
            }));
        }
        // The loop starts with nothing to do and no timer: it blocks in its poller until a post wakes it.
        var starter = new Thread(() => workers.ForEach(w => w.Start()));
        loop.CallSoon(starter.Start);
        loop.RunForever();
        workers.ForEach(w => w.Join());
        Assert.Equal(threads * posts, count);
    }

    [Fact]
    public void CallSoonThreadSafe_FromAnotherThread_WakesLoopBlockedOnLongTimer()
    {
        using var loop = NewLoop();
        loop.CallLater(3600, () => { });
        var t = new Thread(() => loop.CallSoonThreadSafe(loop.Stop));
        loop.CallSoon(t.Start);
        var sw = System.Diagnostics.Stopwatch.StartNew();
        loop.RunForever();
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(30), "the post must wake the loop long before the timer");
    }

    [Fact]
    public void CallSoon_FromAnotherThread_ThrowsPointingAtThreadSafeDoor()
    {
        using var loop = NewLoop();
        Exception? error = null;
        var t = new Thread(() =>
        {
            try
            {
                loop.CallSoon(() => { });
            }
            catch (Exception e)
            {
                error = e;
            }
        });
        t.Start();
        t.Join();
        var ioe = Assert.IsType<InvalidOperationException>(error);
        Assert.Contains("CallSoonThreadSafe", ioe.Message);
    }

    [Fact]
    public void Close_Twice_IsIdempotentAndLaterCallsThrow()
    {
        var loop = NewLoop();
        loop.Close();
        loop.Close();
        Assert.True(loop.IsClosed);
        var e = Assert.Throws<InvalidOperationException>(() => loop.CallSoon(() => { }));
        Assert.Contains("Create a new EventLoop", e.Message);
        Assert.Throws<InvalidOperationException>(() => loop.CallSoonThreadSafe(() => { }));
        Assert.Throws<InvalidOperationException>(() => loop.CallLater(1, () => { }));
        Assert.Throws<InvalidOperationException>(() => loop.CreateTask(async () => await Task.CompletedTask));
        Assert.Throws<InvalidOperationException>(loop.RunForever);
    }

    [Fact]
    public void Close_WhileRunning_Throws()
    {
        using var loop = NewLoop();
        Exception? error = null;
        loop.CallSoon(() =>
        {
            try
            {
                loop.Close();
            }
            catch (Exception e)
            {
                error = e;
            }
            loop.Stop();
        });
        loop.RunForever();
        Assert.IsType<InvalidOperationException>(error);
    }

    [Fact]
    public void RunForever_Reentrant_Throws()
    {
        using var loop = NewLoop();
        Exception? error = null;
        loop.CallSoon(() =>
        {
            try
            {
                loop.RunForever();
            }
            catch (Exception e)
            {
                error = e;
            }
            loop.Stop();
        });
        loop.RunForever();
        Assert.Contains("already running", Assert.IsType<InvalidOperationException>(error).Message);
    }

    [Fact]
    public void GetRunningLoop_OutsideLoop_Throws_InsideReturnsLoop()
    {
        Assert.Throws<InvalidOperationException>(() => EventLoop.GetRunningLoop());
        using var loop = NewLoop();
        EventLoop? seen = null;
        loop.CallSoon(() =>
        {
            seen = EventLoop.GetRunningLoop();
            loop.Stop();
        });
        loop.RunForever();
        Assert.Same(loop, seen);
    }

    [Fact]
    public void RunUntilComplete_StoppedBeforeDone_Throws()
    {
        using var loop = NewLoop(new VirtualClock());
        var e = Assert.Throws<InvalidOperationException>(() => loop.RunUntilComplete(async () =>
        {
            loop.Stop();
            await Asyncio.Sleep(10);
        }));
        Assert.Contains("stopped before", e.Message);
        Runner.CancelAllTasks(loop);
    }

    [Fact]
    public void ForeignAwait_TaskRunCompletion_ResumesOnLoopThread()
    {
        using var loop = NewLoop();
        int loopThread = Environment.CurrentManagedThreadId;
        int resumed = loop.RunUntilComplete(async () =>
        {
            await Task.Run(() => Thread.Yield());
            await Task.Delay(1);   // a real foreign await (a pool timer) is the point: the continuation comes back to the loop
            return Environment.CurrentManagedThreadId;
        });
        Assert.Equal(loopThread, resumed);
    }

    [Fact]
    public void ForeignAwait_CurrentTaskKnownAfterResume()
    {
        using var loop = NewLoop();
        bool same = loop.RunUntilComplete(async () =>
        {
            AioTask? before = Asyncio.CurrentTask();
            await Task.Run(() => { });
            return ReferenceEquals(before, Asyncio.CurrentTask()) && before is not null;
        });
        Assert.True(same);
    }

    [Fact]
    public void TaskScheduler_QueuedFromThreadPool_RunsOnLoop()
    {
        using var loop = NewLoop();
        int loopThread = Environment.CurrentManagedThreadId;
        int ranOn = loop.RunUntilComplete(async () =>
        {
            TaskScheduler scheduler = loop.TaskScheduler;
            return await Task.Run(() => Task.Factory.StartNew(() => Environment.CurrentManagedThreadId, CancellationToken.None, TaskCreationOptions.None, scheduler));
        });
        Assert.Equal(loopThread, ranOn);
    }

    [Fact]
    public void Debug_SlowCallback_IsLogged()
    {
        using var loop = NewLoop();
        loop.Debug = true;
        loop.SlowCallbackDuration = 0.01;
        var err = new StringWriter();
        var saved = Console.Error;
        Console.SetError(err);
        try
        {
            loop.CallSoon(() => System.Threading.SpinWait.SpinUntil(() => false, 50));
            loop.CallSoon(loop.Stop);
            loop.RunForever();
        }
        finally
        {
            Console.SetError(saved);
        }
        Assert.Contains("took", err.ToString());
    }

    [Fact]
    public void ToString_DescribesState()
    {
        using var loop = NewLoop();
        Assert.Matches(@"<EventLoop#\d+ running=False closed=False debug=(True|False)>", loop.ToString());
    }
}

public sealed class EpollLoopTests : LoopTests
{
    protected override string Poller => "epoll";
}

public sealed class PortableLoopTests : LoopTests
{
    protected override string Poller => "portable";
}
