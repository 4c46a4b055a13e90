using System.Runtime.CompilerServices;
using Aio.Testing;
using static Aio.Asyncio;

namespace Aio.Tests.Tasks;

/// <summary><c>async AioTask</c> methods: calling one is asyncio's <c>create_task(coro())</c>.</summary>
public sealed class CoroutineTests
{
    private static readonly AsyncLocal<string?> s_flow = new();

    private static async AioTask<int> Twice(int x, List<string> log)
    {
        log.Add($"start {x}");
        await Sleep(1);
        log.Add($"end {x}");
        return 2 * x;
    }

    private static async AioTask Fail(string message)
    {
        await Sleep(0);
        throw new InvalidOperationException(message);
    }

    private static async AioTask FailAtOnce(string message)
    {
        await Task.CompletedTask;
        throw new InvalidOperationException(message);
    }

    private static async AioTask<int> NoAwait(int x)
    {
        await Task.CompletedTask;
        return x + 1;
    }

    private static async AioTask<long> Nested(int depth) => depth == 0 ? 1 : 1 + await Nested(depth - 1);

    [Fact]
    public void Call_ReturnsPendingTask_BodyStartsOnNextIteration()
    {
        var log = new List<string>();
        AioTest.Run(async () =>
        {
            AioTask<int> t = Twice(21, log);
            log.Add("called");
            Assert.False(t.Done);
            Assert.Contains(t, AllTasks());
            await Sleep(0);
            log.Add("after-yield");
            Assert.Equal(42, await t);
        });
        Assert.Equal(new[] { "called", "start 21", "after-yield", "end 21" }, log);
    }

    [Fact]
    public void Result_IsTheReturnedValue_AndTimeIsTheLoopsTime()
    {
        var log = new List<string>();
        (int Value, double Elapsed) r = AioTest.Run(async () =>
        {
            EventLoop loop = EventLoop.GetRunningLoop();
            double t0 = loop.Time();
            int v = await Twice(5, log);
            return (v, loop.Time() - t0);
        });
        Assert.Equal(10, r.Value);
        Assert.InRange(r.Elapsed, 1.0, 1.01);
    }

    [LoopFact]
    public async Task Body_WithoutAwaits_CompletesInItsFirstStep()
    {
        AioTask<int> t = NoAwait(1);
        await Sleep(0);
        Assert.True(t.Done);
        Assert.Equal(2, t.Result());
    }

    [LoopFact]
    public async Task Exception_FailsTheTask_AndAwaitRethrowsIt()
    {
        AioTask t = Fail("bad");
        var e = await Assert.ThrowsAsync<InvalidOperationException>(async () => await t);
        Assert.Equal("bad", e.Message);
        Assert.Same(e, t.Exception());
    }

    [LoopFact]
    public async Task Exception_BeforeFirstAwait_IsNotThrownByTheCall()
    {
        AioTask t = FailAtOnce("early"); // returns the task; the body has not run yet
        Assert.False(t.Done);
        var e = await Assert.ThrowsAsync<InvalidOperationException>(async () => await t);
        Assert.Equal("early", e.Message);
    }

    [Fact]
    public void Cancel_BeforeFirstStep_BodyNeverRuns()
    {
        var log = new List<string>();
        AioTest.Run(async () =>
        {
            AioTask<int> t = Twice(1, log);
            Assert.True(t.Cancel("stop"));
            var e = await Assert.ThrowsAsync<CancelledError>(async () => await t);
            Assert.Equal("stop", e.Message);
            Assert.True(t.Cancelled);
        });
        Assert.Empty(log);
    }

    private static async AioTask<string> CatchCancelThenAwaitAgain()
    {
        try
        {
            await Sleep(10);
        }
        catch (CancelledError)
        {
        }
        try
        {
            await Sleep(0);
            return "second await did not throw";
        }
        catch (CancelledError)
        {
            return "level-triggered";
        }
    }

    [LoopFact]
    public async Task Cancel_IsLevelTriggered_ASecondAwaitThrowsAgain()
    {
        AioTask<string> t = CatchCancelThenAwaitAgain();
        await Sleep(1);
        t.Cancel();
        // Cancellation requested and delivered, but the body returned a value: asyncio reports the task succeeded.
        Assert.Equal("level-triggered", await t);
    }

    private static async AioTask<(int Thread, bool SameTask)> AwaitForeignWithoutContext(int loopThread)
    {
        AioTask? me = CurrentTask();
        await Task.Run(() => Thread.Yield()).ConfigureAwait(false);
        return (Environment.CurrentManagedThreadId == loopThread ? 1 : 0, ReferenceEquals(CurrentTask(), me));
    }

    [Fact]
    public void ForeignAwait_EvenWithConfigureAwaitFalse_ResumesOnTheLoopAsTheTask()
    {
        AioTest.Run(async () =>
        {
            (int onLoop, bool sameTask) = await AwaitForeignWithoutContext(Environment.CurrentManagedThreadId);
            Assert.Equal(1, onLoop);
            Assert.True(sameTask);
        }, virtualTime: false);
    }

    private static async AioTask<string?> SetFlowAndSleep()
    {
        s_flow.Value = "inside";
        await Sleep(1);
        return s_flow.Value;
    }

    [Fact]
    public void AsyncLocal_FlowsThroughTheCoroutine_AndDoesNotLeakIntoItsCaller()
    {
        AioTest.Run(async () =>
        {
            s_flow.Value = "caller";
            AioTask<string?> t = SetFlowAndSleep();
            await Sleep(0.5);
            Assert.Equal("caller", s_flow.Value);
            Assert.Equal("inside", await t);
            Assert.Equal("caller", s_flow.Value);
        });
    }

    [LoopFact]
    public async Task AsyncLocal_SetOnlyInsideTheCoroutine_IsNeverSeenByTheLoopOrOtherTasks()
    {
        AioTask<string?> t = SetFlowAndSleep();
        AioTask<string?> other = CreateTask(async () => { await Sleep(0.5); return s_flow.Value; });
        await Sleep(0.25);
        Assert.Null(s_flow.Value);
        Assert.Equal("inside", await t);
        Assert.Null(await other);
        Assert.Null(s_flow.Value);
    }

    private static async AioTask<int> PutAllThenWait(AioQueue<int> queue, AioEvent done, int count)
    {
        for (int i = 0; i < count; i++)
        {
            await queue.PutAsync(i);   // the queue is bounded: most puts park until the consumer takes
        }
        await done.WaitAsync();
        return count;
    }

    [LoopFact]
    public async Task ParkedOnAioWaits_AQueuePutAndAnEvent_ResumeInOrder_AndCancelCleanly()
    {
        var queue = new AioQueue<int>(maxsize: 1);
        var done = new AioEvent();
        AioTask<int> producer = PutAllThenWait(queue, done, 5);
        var got = new List<int>();
        for (int i = 0; i < 5; i++)
        {
            got.Add(await queue.GetAsync());
        }
        Assert.Equal(new[] { 0, 1, 2, 3, 4 }, got);
        done.Set();
        Assert.Equal(5, await producer);

        AioTask<int> stuck = PutAllThenWait(queue, new AioEvent(), 3);
        await Sleep(1);
        stuck.Cancel("enough");
        await Assert.ThrowsAsync<CancelledError>(async () => await stuck);
        Assert.Equal(1, queue.Count);   // the first put went in; the parked second one left cleanly
        Assert.Equal(0, await queue.GetAsync());
    }

    private static async AioTask<(int InCoroutine, int AfterNextAwait, int InHelper)> ResumedInlineByAHelper()
    {
        var tcs = new TaskCompletionSource();   // no RunContinuationsAsynchronously: SetResult resumes this coroutine inline
        var seen = new StrongBox<int>();
        Task helper = SetLocalThenRelease(tcs, seen);
        await tcs.Task;
        int inCoroutine = s_number.Value;
        await Sleep(0);
        int afterNextAwait = s_number.Value;
        await helper;
        return (inCoroutine, afterNextAwait, seen.Value);

        static async Task SetLocalThenRelease(TaskCompletionSource tcs, StrongBox<int> seen)
        {
            s_number.Value = 5;
            await Sleep(0.1);
            tcs.SetResult();
            seen.Value = s_number.Value;
        }
    }

    private static readonly AsyncLocal<int> s_number = new();

    [Fact]
    public void AsyncLocal_ACoroutineResumedInsideAHelpersStep_KeepsItsOwnContext_AndGivesTheHelperItsBack()
    {
        (int inCoroutine, int afterNextAwait, int inHelper) = AioTest.Run(async () => await ResumedInlineByAHelper());
        Assert.Equal(0, inCoroutine);
        Assert.Equal(0, afterNextAwait);
        Assert.Equal(5, inHelper);
    }

    [Fact]
    public void Call_WithNoRunningLoop_ThrowsAnErrorThatSaysHowToStartIt()
    {
        var e = Assert.Throws<InvalidOperationException>(() => NoAwait(1));
        Assert.Contains("no event loop running", e.Message, StringComparison.Ordinal);
        Assert.Contains("Asyncio.Run", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AsMainOfRun_ViaALambda()
    {
        var log = new List<string>();
        Assert.Equal(6, AioTest.Run(async () => await Twice(3, log)));
    }

    [Fact]
    public void CurrentTask_InsideIsTheReturnedTask_AndToStringNamesTheMethod()
    {
        AioTest.Run(async () =>
        {
            AioTask? inside = null;
            AioTask<int> t = Capture(v => inside = v);
            Assert.Matches(@"^<Task pending name='Task-\d+' coro=Capture>$", t.ToString());
            await t;
            Assert.Same(t, inside);
            Assert.Matches(@"^<Task finished name='Task-\d+' coro=Capture>$", t.ToString());
        });

        static async AioTask<int> Capture(Action<AioTask?> report)
        {
            await Sleep(0);
            report(CurrentTask());
            return 0;
        }
    }

    [Fact]
    public void Gather_OfCoroutines_ReturnsResultsInArgumentOrder()
    {
        var log = new List<string>();
        int[] results = AioTest.Run(async () => await Gather(Twice(1, log), Twice(2, log), Twice(3, log)));
        Assert.Equal(new[] { 2, 4, 6 }, results);
        Assert.Equal(new[] { "start 1", "start 2", "start 3", "end 1", "end 2", "end 3" }, log);
    }

    [Fact]
    public void Nested_CoroutinesAwaitingCoroutines_Unwind()
    {
        Assert.Equal(101, AioTest.Run(async () => await Nested(100)));
    }

    private static async AioTask<int> Consume(AioQueue<int> queue, AioLock gate)
    {
        int sum = 0;
        while (true)
        {
            int item = await queue.GetAsync();
            if (item < 0)
            {
                return sum;
            }
            using (await gate.AcquireAsync())
            {
                await Sleep(0.1);
                sum += item;
            }
        }
    }

    [Fact]
    public void Primitives_WorkInsideCoroutines()
    {
        int total = AioTest.Run(async () =>
        {
            var queue = new AioQueue<int>();
            var gate = new AioLock();
            AioTask<int> a = Consume(queue, gate), b = Consume(queue, gate);
            for (int i = 1; i <= 10; i++)
            {
                await queue.PutAsync(i);
            }
            await queue.PutAsync(-1);
            await queue.PutAsync(-1);
            int[] sums = await Gather(a, b);
            return sums.Sum();
        });
        Assert.Equal(55, total);
    }

    [Fact]
    public void TaskGroup_ChildFailure_CancelsACoroutineChild()
    {
        var log = new List<string>();
        AioTest.Run(async () =>
        {
            var e = await Assert.ThrowsAsync<AggregateException>(() => TaskGroup.Run(async g =>
            {
                AioTask<int> slow = g.CreateTask(Twice(7, log));
                _ = g.CreateTask(async () => { await Sleep(0.5); throw new InvalidOperationException("boom"); });
                await Sleep(0);
                Assert.False(slow.Done);
            }));
            Assert.IsType<InvalidOperationException>(Assert.Single(e.InnerExceptions));
        });
        Assert.Equal(new[] { "start 7" }, log);
    }

    [Fact]
    public void TaskGroup_AdoptingAStartedTask_ThrowsAClearError()
    {
        AioTest.Run(async () =>
        {
            AioTask<int> t = NoAwait(1);
            await Sleep(0);
            await TaskGroup.Run(g =>
            {
                var e = Assert.Throws<InvalidOperationException>(() => g.CreateTask(t));
                Assert.Contains("already started", e.Message, StringComparison.Ordinal);
                return Task.CompletedTask;
            });
        });
    }

    private static async AioTask<int> SleepThenReturn(double seconds, int value)
    {
        await Sleep(seconds);
        return value;
    }

    [LoopFact]
    public async Task WaitFor_ACoroutineThatIsTooSlow_CancelsIt_AndThrowsTimeout()
    {
        AioTask<int> slow = SleepThenReturn(10, 1);
        await Assert.ThrowsAsync<TimeoutException>(() => WaitFor(slow, 1));
        Assert.True(slow.Cancelled);
        Assert.Equal(2, await WaitFor(SleepThenReturn(0.5, 2), 1));
    }

    [Fact]
    public void AsCompleted_OfCoroutines_YieldsThemInCompletionOrder()
    {
        var order = AioTest.Run(async () =>
        {
            var seen = new List<int>();
            await foreach (AioTask<int> done in AsCompleted(new[] { SleepThenReturn(3, 3), SleepThenReturn(1, 1), SleepThenReturn(2, 2) }))
            {
                seen.Add(await done);
            }
            return seen;
        });
        Assert.Equal(new[] { 1, 2, 3 }, order);
    }

    [LoopFact]
    public async Task Shield_KeepsACoroutineRunning_WhenTheAwaiterIsCancelled()
    {
        AioTask<int> inner = SleepThenReturn(2, 7);
        AioTask outer = CreateTask(async () => await Shield(inner));
        await Sleep(1);
        outer.Cancel();
        await Assert.ThrowsAsync<CancelledError>(async () => await outer);
        Assert.False(inner.Done);
        Assert.Equal(7, await inner);
    }

    private static async AioTask YieldThroughTheContext(List<string> log)
    {
        log.Add("before");
        await Task.Yield();            // a foreign awaitable: comes back through the task's context
        log.Add(CurrentTask() is null ? "no task" : "same task");
    }

    [Fact]
    public void TaskYield_InsideACoroutine_ResumesOnTheLoopAsTheTask()
    {
        var log = new List<string>();
        AioTest.Run(async () => await YieldThroughTheContext(log));
        Assert.Equal(new[] { "before", "same task" }, log);
    }

    private static async AioTask ThrowForeignCancellation()
    {
        await Sleep(0);
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        cts.Token.ThrowIfCancellationRequested();
    }

    [LoopFact]
    public async Task AForeignOperationCanceledException_FailsTheCoroutine_ItDoesNotCancelIt()
    {
        AioTask t = ThrowForeignCancellation();
        await Assert.ThrowsAsync<OperationCanceledException>(async () => await t);
        Assert.False(t.Cancelled);
    }

    [Fact]
    public void ManyCoroutines_EachYieldingTwice_AllFinishWithTheirValues()
    {
        long sum = AioTest.Run(async () =>
        {
            var tasks = new AioTask<long>[10_000];
            for (int i = 0; i < tasks.Length; i++)
            {
                tasks[i] = TwoYields(i);
            }
            long[] values = await Gather(tasks);
            return values.Sum();
        });
        Assert.Equal(10_000L * 9_999 / 2, sum);

        static async AioTask<long> TwoYields(long i)
        {
            await Yield();
            await Yield();
            return i;
        }
    }

    // ----------------------------------------------------------------- lambdas passed to task-creating APIs are coroutines

    /// <summary>The step of <paramref name="task"/> that runs now: on the loop's thread, as that task?</summary>
    private static string Where(int loopThread, AioTask? task) =>
        (Environment.CurrentManagedThreadId == loopThread ? "loop" : "pool") + (ReferenceEquals(EventLoop.TryGetRunningLoop()?.CurrentTask, task) && task is not null ? "/task" : "/other");

    [LoopFact]
    public async Task CreateTask_AsyncLambdaAwaitingWithConfigureAwaitFalse_StaysOnTheLoopAndCompletes()
    {
        int loopThread = Environment.CurrentManagedThreadId;
        var log = new List<string>();
        AioTask? self = null;
        Task foreign = Task.Run(() => { });
        AioTask t = CreateTask(async () =>
        {
            self = CurrentTask();
            await foreign.ConfigureAwait(false);
            log.Add("after foreign: " + Where(loopThread, self));
            await Sleep(1);
            log.Add("after sleep: " + Where(loopThread, self));
        });
        await t;
        Assert.Same(t, self);
        Assert.Equal(["after foreign: loop/task", "after sleep: loop/task"], log);
    }

    [LoopFact]
    public async Task CreateTask_AsyncLambda_IsACoroutineNamedAfterItsMethod()
    {
        AioTask<int> t = CreateTask(async () => { await Sleep(0); return 1; }, "worker");
        Assert.Equal("<Task pending name='worker' coro=CreateTask_AsyncLambda_IsACoroutineNamedAfterItsMethod.lambda>", t.ToString());
        Assert.Equal(1, await t);
    }

    [Fact]
    public void CreateTask_TaskReturningDelegates_KeepTheDelegateOverloads()
    {
        AioTest.Run(async () =>
        {
            Func<Task> variable = async () => await Sleep(0);
            AioTask fromVariable = CreateTask(variable);
            AioTask fromMethodGroup = CreateTask(SleepZero);
            AioTask<int> fromNonAsyncLambda = CreateTask(() => Task.FromResult(7));
            AioTask<int> withState = CreateTask(static (int x) => Task.FromResult(x + 1), 1);
            Assert.DoesNotContain("coro=", fromVariable.ToString(), StringComparison.Ordinal);
            Assert.DoesNotContain("coro=", fromMethodGroup.ToString(), StringComparison.Ordinal);
            Assert.DoesNotContain("coro=", fromNonAsyncLambda.ToString(), StringComparison.Ordinal);
            Assert.DoesNotContain("coro=", withState.ToString(), StringComparison.Ordinal);
            await Gather(fromVariable, fromMethodGroup, fromNonAsyncLambda, withState);
            Assert.Equal((7, 2), (fromNonAsyncLambda.Result(), withState.Result()));
        });

        static async Task SleepZero() => await Sleep(0);
    }

    [Fact]
    public void CreateTask_StaticAsyncLambdaWithState_IsACoroutineThatGetsTheState()
    {
        int result = AioTest.Run(async () =>
        {
            AioTask<int> t = CreateTask(static async (int x) =>
            {
                await Task.Yield();
                await Sleep(1);
                return x * 2;
            }, 21);
            Assert.Contains("coro=", t.ToString(), StringComparison.Ordinal);
            return await t;
        });
        Assert.Equal(42, result);
    }

    [Fact]
    public void CreateTask_AsyncLambdaCancelledBeforeItsFirstStep_NeverRunsItsBody()
    {
        AioTest.Run(async () =>
        {
            bool ran = false;
            AioTask t = CreateTask(async () =>
            {
                ran = true;
                await Sleep(0);
            });
            t.Cancel("before it starts");
            await Assert.ThrowsAsync<CancelledError>(async () => await t);
            Assert.False(ran);
            Assert.True(t.Cancelled);
        });
    }

    [LoopFact]
    public async Task CreateTask_NonAsyncLambdaThatThrows_GivesATaskThatFailsWithIt()
    {
        AioTask t = CreateTask(() => throw new InvalidDataException("no coroutine"), "thrower");
        Assert.Equal("thrower", t.Name);
        var e = await Assert.ThrowsAsync<InvalidDataException>(async () => await t);
        Assert.Equal("no coroutine", e.Message);
    }

    [LoopFact]
    public async Task CreateTask_BodyReturningAStartedTask_ThrowsAnErrorThatSaysWhatToPass()
    {
        AioTask<int> running = NoAwait(1);
        await running;
        var e = Assert.Throws<InvalidOperationException>(() => CreateTask(() => running));
        Assert.Contains("has already started", e.Message, StringComparison.Ordinal);
        Assert.Contains("async () => { ... }", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LoopCreateTask_BeforeTheLoopRuns_CreatesTheCoroutineOnThatLoop()
    {
        var loop = new EventLoop(new VirtualClock());
        try
        {
            AioTask<double> t = loop.CreateTask(async () =>
            {
                Assert.Same(loop, EventLoop.GetRunningLoop());
                await Sleep(2);
                return loop.Time();
            }, "early");
            Assert.Same(loop, t.Loop);
            Assert.Equal("<Task pending name='early' coro=LoopCreateTask_BeforeTheLoopRuns_CreatesTheCoroutineOnThatLoop.lambda>", t.ToString());
            Assert.Equal(2.0, loop.RunUntilComplete(async () => await t));
        }
        finally
        {
            loop.Close();
        }
    }

    [Fact]
    public void LoopCreateTask_OfAnotherLoopFromATask_BelongsToThatLoop_AndLeavesTheRunningOneAlone()
    {
        var other = new EventLoop(new VirtualClock());
        try
        {
            AioTask<EventLoop> t = AioTest.Run(async () =>
            {
                AioTask? me = CurrentTask();
                AioTask<EventLoop> created = other.CreateTask(async () =>
                {
                    await Sleep(0);
                    return EventLoop.GetRunningLoop();
                });
                Assert.Same(me, CurrentTask());           // still this loop's task
                await Sleep(0);
                Assert.False(created.Done);              // it waits for its own loop
                return created;
            });
            Assert.Same(other, t.Loop);
            other.RunUntilComplete(t);
            Assert.Same(other, t.Result());
        }
        finally
        {
            other.Close();
        }
    }

    [LoopFact]
    public async Task TaskGroupCreateTask_AsyncLambdasWithConfigureAwaitFalse_StayOnTheLoopAsChildren()
    {
        int loopThread = Environment.CurrentManagedThreadId;
        var log = new List<string>();
        await TaskGroup.Run(async g =>
        {
            AioTask<int> a = g.CreateTask(async () =>
            {
                await Task.Delay(1).ConfigureAwait(false);   // real: a foreign await that resumes off the loop is the point
                log.Add("a: " + Where(loopThread, CurrentTask()));
                await Sleep(1);
                return 1;
            }, "a");
            AioTask<int> b = g.CreateTask(static async (int x) =>
            {
                await Task.Delay(1).ConfigureAwait(false);   // real: a foreign await that resumes off the loop is the point
                await Sleep(2);
                return x;
            }, 2, "b");
            AioTask c = g.CreateTask(async () =>
            {
                await Sleep(3);
                log.Add("c: " + Where(loopThread, CurrentTask()));
            });
            Assert.Equal(["a", "b"], new[] { a.Name, b.Name });
        });
        Assert.Equal(["a: loop/task", "c: loop/task"], log);
    }

    [Fact]
    public void TaskGroupCreateTask_FailingAsyncLambda_CancelsTheOtherChildren()
    {
        var log = new List<string>();
        AioTest.Run(async () =>
        {
            var e = await Assert.ThrowsAsync<AggregateException>(() => TaskGroup.Run(async g =>
            {
                _ = g.CreateTask(async () =>
                {
                    try
                    {
                        await Sleep(10);
                    }
                    catch (CancelledError)
                    {
                        log.Add("sibling cancelled");
                        throw;
                    }
                });
                _ = g.CreateTask(async () =>
                {
                    await Sleep(1);
                    throw new InvalidDataException("child failed");
                });
                await Sleep(100);
            }));
            Assert.IsType<InvalidDataException>(Assert.Single(e.InnerExceptions));
        });
        Assert.Equal(["sibling cancelled"], log);
    }

    [Fact]
    public void Run_AsyncLambdaMainAwaitingWithConfigureAwaitFalse_StaysOnTheLoop()
    {
        int loopThread = -1;
        string where = Asyncio.Run(async () =>
        {
            loopThread = Environment.CurrentManagedThreadId;
            AioTask? main = CurrentTask();
            await Task.Delay(1).ConfigureAwait(false);   // real: a foreign await that resumes off the loop is the point
            await Sleep(0);
            return Where(loopThread, main) + " " + main!.Name;
        });
        Assert.Equal("loop/task main", where);
    }

    [Fact]
    public void RunUntilComplete_AsyncLambdaAwaitingWithConfigureAwaitFalse_StaysOnTheLoop()
    {
        var loop = new EventLoop();
        try
        {
            int loopThread = Environment.CurrentManagedThreadId;
            string where = loop.RunUntilComplete(async () =>
            {
                AioTask? self = CurrentTask();
                await Task.Delay(1).ConfigureAwait(false);   // real: a foreign await that resumes off the loop is the point
                await Sleep(0);
                return Where(loopThread, self);
            });
            Assert.Equal("loop/task", where);
        }
        finally
        {
            loop.Close();
        }
    }

    [Fact]
    public void RunCoroutineThreadSafe_AsyncLambdaAwaitingWithConfigureAwaitFalse_StaysOnTheLoop()
    {
        var loop = new EventLoop();
        var done = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        int loopThread = Environment.CurrentManagedThreadId;
        var client = new Thread(() =>
        {
            try
            {
                Task<string> withResult = RunCoroutineThreadSafe(async () =>
                {
                    AioTask? self = CurrentTask();
                    await Task.Delay(1).ConfigureAwait(false);   // real: a foreign await that resumes off the loop is the point
                    await Sleep(0);
                    return Where(loopThread, self);
                }, loop);
                Task noResult = RunCoroutineThreadSafe(async () =>
                {
                    await Task.Delay(1).ConfigureAwait(false);   // real: a foreign await that resumes off the loop is the point
                    await Sleep(0);
                }, loop);
                Task.WaitAll(withResult, noResult);
                done.TrySetResult(withResult.Result);
            }
            catch (Exception e)
            {
                done.TrySetException(e);
            }
        });
        try
        {
            string where = loop.RunUntilComplete(async () =>
            {
                client.Start();
                return await done.Task;
            });
            Assert.Equal("loop/task", where);
        }
        finally
        {
            client.Join();
            loop.Close();
        }
    }
}
