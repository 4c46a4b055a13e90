using Aio.Testing;
using static Aio.Asyncio;

namespace Aio.Tests;

public sealed class CombinatorTests
{
    private static AioTask<int> After(double seconds, int value) =>
        CreateTask(async () => { await Sleep(seconds); return value; });

    private static AioTask<int> FailingAfter(double seconds, string message) =>
        CreateTask<int>(async () => { await Sleep(seconds); throw new InvalidOperationException(message); });

    [Fact]
    public void Gather_ResultsInArgumentOrder()
    {
        int[] r = AioTest.Run(async () => await Gather(After(3, 1), After(1, 2), After(2, 3)));
        Assert.Equal(new[] { 1, 2, 3 }, r);
    }

    [Fact]
    public void Gather_Empty_ReturnsEmpty()
    {
        Assert.Empty(AioTest.Run(async () => await Gather<int>()));
    }

    [LoopFact]
    public async Task Gather_FirstErrorPropagates_SiblingsKeepRunning()
    {
        AioTask<int> slow = After(5, 1);
        AioTask<int> bad = FailingAfter(1, "first");
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => Gather(slow, bad));
        Assert.Equal("first", e.Message);
        Assert.Equal(1.0, EventLoop.GetRunningLoop().Time(), 6);
        Assert.False(slow.Done);
        Assert.Equal(1, await slow); // not cancelled
    }

    [LoopFact]
    public async Task Gather_CallerCancelled_CancelsChildren()
    {
        AioTask<int> a = After(10, 1), b = After(10, 2);
        AioTask caller = CreateTask(async () => await Gather(a, b));
        await Sleep(1);
        caller.Cancel();
        await Assert.ThrowsAsync<CancelledError>(async () => await caller);
        Assert.True(a.Cancelled);
        Assert.True(b.Cancelled);
    }

    [LoopFact]
    public async Task GatherSettled_ReportsEachOutcome()
    {
        AioTask<int> c = After(10, 3);
        AioTask<int> canceller = CreateTask(async () => { await Sleep(1); c.Cancel(); return 0; });
        Outcome<int>[] r = await GatherSettled(After(1, 1), FailingAfter(2, "x"), c, canceller);
        Assert.True(r[0].Succeeded);
        Assert.Equal(1, r[0].Value);
        Assert.IsType<InvalidOperationException>(r[1].Exception);
        Assert.True(r[2].Cancelled);
        Assert.Equal("Ok(1)", r[0].ToString());
    }

    [LoopFact]
    public async Task Wait_FirstCompleted_ReturnsDoneAndPending()
    {
        AioTask<int> fast = After(1, 1), slow = After(5, 2);
        var (done, pending) = await Wait(new AioTask[] { fast, slow }, when: ReturnWhen.FirstCompleted);
        Assert.Equal(new AioTask[] { fast }, done);
        Assert.Equal(new AioTask[] { slow }, pending);
        await slow;
    }

    [LoopFact]
    public async Task Wait_Timeout_NeitherThrowsNorCancels()
    {
        AioTask<int> slow = After(5, 2);
        var (done, pending) = await Wait(new AioTask[] { slow }, timeout: 1);
        Assert.Empty(done);
        Assert.Contains(slow, pending);
        Assert.False(slow.Cancelled);
        Assert.Equal(2, await slow);
    }

    [LoopFact]
    public async Task Wait_FirstException_ReturnsOnFailure()
    {
        AioTask<int> slow = After(5, 2), bad = FailingAfter(1, "boom");
        var (done, pending) = await Wait(new AioTask[] { slow, bad }, when: ReturnWhen.FirstException);
        Assert.Contains(bad, done);
        Assert.Contains(slow, pending);
        Assert.NotNull(bad.Exception());
        await slow;
    }

    [Fact]
    public void Wait_Empty_Throws()
    {
        AioTest.Run(async () => await Assert.ThrowsAsync<ArgumentException>(() => Wait(Array.Empty<AioTask>())));
    }

    [Fact]
    public void WaitFor_Timeout_CancelsInnerWaitsForItAndThrowsTimeoutWithCancelledInside()
    {
        var events = new List<string>();
        AioTest.Run(async () =>
        {
            AioTask<int> inner = CreateTask(async () =>
            {
                try
                {
                    await Sleep(10);
                    return 1;
                }
                finally
                {
                    await new CancelScope(shield: true).RunAsync(async () => await Sleep(0.5));
                    events.Add("inner-finished-cancelling");
                }
            });
            var e = await Assert.ThrowsAsync<TimeoutException>(() => WaitFor(inner, 2));
            events.Add("timeout");
            Assert.IsType<CancelledError>(e.InnerException);
            Assert.True(inner.Cancelled);
            Assert.Equal(2.5, EventLoop.GetRunningLoop().Time(), 6);
        });
        Assert.Equal(new[] { "inner-finished-cancelling", "timeout" }, events);
    }

    [LoopFact]
    public async Task WaitFor_TimeoutRacesCompletion_ReturnsResult()
    {
        // The task's timer and WaitFor's deadline fall due in the same iteration; the task's step runs
        // first and completes it, so when the deadline fires the result is already there and wins.
        AioTask<int> t = After(2, 42);
        await Sleep(0); // the task starts and arms its timer before the deadline is armed
        Assert.Equal(42, await WaitFor(t, 2));
    }

    [LoopFact]
    public async Task WaitFor_InnerSwallowsCancellation_ReturnsItsValue()
    {
        AioTask<int> t = CreateTask(async () =>
        {
            try
            {
                await Sleep(10);
                return 1;
            }
            catch (CancelledError)
            {
                return 99;
            }
        });
        Assert.Equal(99, await WaitFor(t, 1));
    }

    [Fact]
    public void WaitFor_ZeroTimeoutOnUnstartedTask_BodyNeverRuns()
    {
        bool ran = false;
        AioTest.Run(async () =>
        {
            AioTask<int> t = CreateTask(async () => { ran = true; await Sleep(1); return 1; });
            await Assert.ThrowsAsync<TimeoutException>(() => WaitFor(t, 0));
            Assert.True(t.Cancelled);
        });
        Assert.False(ran);
    }

    [LoopFact]
    public async Task WaitFor_CallerCancelled_CancelsInnerAndRaisesCancelled()
    {
        AioTask<int> inner = After(10, 1);
        AioTask caller = CreateTask(async () => await WaitFor(inner, 5));
        await Sleep(1);
        caller.Cancel();
        await Assert.ThrowsAsync<CancelledError>(async () => await caller);
        Assert.True(inner.Cancelled);
    }

    [Fact]
    public void AsCompleted_YieldsInCompletionOrder()
    {
        var order = AioTest.Run(async () =>
        {
            var result = new List<int>();
            await foreach (AioTask<int> t in AsCompleted(new[] { After(3, 3), After(1, 1), After(2, 2) }))
            {
                result.Add(await t);
            }
            return result;
        });
        Assert.Equal(new[] { 1, 2, 3 }, order);
    }

    [LoopFact]
    public async Task AsCompleted_Timeout_ThrowsAndLeavesRestRunning()
    {
        AioTask<int> slow = After(10, 2);
        var got = new List<int>();
        await Assert.ThrowsAsync<TimeoutException>(async () =>
        {
            await foreach (AioTask<int> t in AsCompleted(new[] { After(1, 1), slow }, timeout: 2))
            {
                got.Add(await t);
            }
        });
        Assert.Equal(new[] { 1 }, got);
        Assert.False(slow.Cancelled);
        await slow;
    }

    [LoopFact]
    public async Task Shield_CallerCancelled_InnerKeepsRunning()
    {
        AioTask<int> inner = After(5, 8);
        AioTask caller = CreateTask(async () => await Shield(inner));
        await Sleep(1);
        caller.Cancel();
        await Assert.ThrowsAsync<CancelledError>(async () => await caller);
        Assert.False(inner.Done);
        Assert.Equal(8, await inner);
    }

    [LoopFact]
    public async Task Shield_InnerCancelled_AwaitIsCancelled()
    {
        AioTask<int> inner = After(5, 8);
        AioTask<int> caller = CreateTask(async () => await Shield(inner));
        await Sleep(1);
        inner.Cancel();
        await Assert.ThrowsAsync<CancelledError>(async () => await caller);
    }

    [LoopFact]
    public async Task Timeout_Expires_ThrowsTimeoutWithCancelledInside()
    {
        var e = await Assert.ThrowsAsync<TimeoutException>(() => FailAfter(1, async () => await Sleep(5)));
        Assert.IsType<CancelledError>(e.InnerException);
        Assert.Equal(1, EventLoop.GetRunningLoop().Time(), 6);
    }

    [Fact]
    public void Timeout_BodyFinishesInTime_ReturnsValue()
    {
        Assert.Equal(3, AioTest.Run(async () => await FailAfter(5, async () => { await Sleep(1); return 3; })));
    }

    [Fact]
    public void Timeout_Nested_OnlyScopeWhoseDeadlineFiredConverts()
    {
        var events = new List<string>();
        AioTest.Run(async () =>
        {
            // Inner deadline fires first: the inner converts; the outer sees a TimeoutException pass.
            await FailAfter(10, async () =>
            {
                try
                {
                    await FailAfter(1, async () => await Sleep(5));
                }
                catch (TimeoutException)
                {
                    events.Add("inner-timeout");
                }
                await Sleep(1);
                events.Add("outer-body-continues");
            });
            // Outer deadline fires first: the inner passes the cancellation on, the outer converts.
            try
            {
                await FailAfter(1, async () =>
                {
                    try
                    {
                        await FailAfter(10, async () => await Sleep(5));
                    }
                    catch (TimeoutException)
                    {
                        events.Add("wrong: inner converted");
                    }
                });
            }
            catch (TimeoutException)
            {
                events.Add("outer-timeout");
            }
        });
        Assert.Equal(new[] { "inner-timeout", "outer-body-continues", "outer-timeout" }, events);
    }

    [LoopFact]
    public async Task Timeout_CancelledFromOutside_PassesCancelledError()
    {
        AioTask t = CreateTask(async () => await FailAfter(10, async () => await Sleep(5)));
        await Sleep(1);
        t.Cancel();
        await Assert.ThrowsAsync<CancelledError>(async () => await t);
    }

    [LoopFact]
    public async Task Timeout_ZeroDelay_InterruptsEvenSleepZero()
    {
        await Assert.ThrowsAsync<TimeoutException>(() => FailAfter(0, async () =>
        {
            while (true)
            {
                await Sleep(0);
            }
        }));
    }

    [LoopFact]
    public async Task MoveOnAfter_DeadlinePasses_ReturnsFalseWithoutException()
    {
        Assert.False(await MoveOnAfter(1, async () => await Sleep(5)));
        Assert.True(await MoveOnAfter(5, async () => await Sleep(1)));
    }
}
