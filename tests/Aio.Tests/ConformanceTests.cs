using Aio.Testing;
using Aio.Tests.Os;
using static Aio.Asyncio;

namespace Aio.Tests;

/// <summary>asyncio semantics at the edges: past deadlines, foreign awaits, refused cancellations, other loops, Gather messages, Wait's arguments.</summary>
public sealed class ConformanceTests
{
    // ----------------------------------------------------------------- a deadline already in the past

    [Fact]
    public void FailAfter_ZeroDelayBodySleepsZero_ThrowsTimeout()
    {
        var events = new List<string>();
        AioTest.Run(async () =>
        {
            await Assert.ThrowsAsync<TimeoutException>(() => FailAfter(0, async () =>
            {
                events.Add("body");
                await Sleep(0);
                events.Add("after sleep");
            }));
        });
        Assert.Equal(["body"], events);
    }

    [Fact]
    public void FailAfter_NegativeDelayBodySleepsZero_ThrowsTimeout()
    {
        AioTest.Run(async () =>
        {
            await Assert.ThrowsAsync<TimeoutException>(() => FailAfter(-1, async () => await Sleep(0)));
        });
    }

    [Fact]
    public void MoveOnAfter_ZeroDelayBodySleepsZero_ReturnsFalse()
    {
        bool finished = AioTest.Run(() => MoveOnAfter(0, async () => await Sleep(0)));
        Assert.False(finished);
    }

    [Fact]
    public void FailAfter_NegativeDelayAroundTaskGroup_ThrowsTimeoutAndNoChildRuns()
    {
        var events = new List<string>();
        AioTest.Run(async () =>
        {
            await Assert.ThrowsAsync<TimeoutException>(() => FailAfter(-1, () => TaskGroup.Run(async g =>
            {
                _ = g.CreateTask(async () =>
                {
                    events.Add("child");
                    await Sleep(0);
                });
                await Sleep(0);
                events.Add("body after sleep");
            })));
        });
        Assert.Empty(events);
    }

    [Fact]
    public void CancelScope_DeadlineSetToPastWhileActive_NextAwaitThrows()
    {
        var events = new List<string>();
        CancelScope scope = null!;
        AioTest.Run(async () =>
        {
            EventLoop loop = EventLoop.GetRunningLoop();
            scope = new CancelScope(deadline: loop.Time() + 100);
            await scope.RunAsync(async () =>
            {
                scope.Deadline = loop.Time() - 1;
                events.Add("set");
                try
                {
                    await Sleep(0);
                    events.Add("not cancelled");
                }
                catch (CancelledError)
                {
                    events.Add("cancelled");
                    throw;
                }
            });
        });
        Assert.Equal(["set", "cancelled"], events);
        Assert.True(scope.DeadlineReached);
        Assert.True(scope.CancelledCaught);
    }

    [Fact]
    public void WaitFor_ZeroTimeout_AgreesWithScopeWithPastDeadline()
    {
        var events = new List<string>();
        AioTest.Run(async () =>
        {
            EventLoop loop = EventLoop.GetRunningLoop();
            AioTask<int> first = CreateTask(async () =>
            {
                events.Add("first ran");
                await Sleep(1);
                return 1;
            });
            try
            {
                await WaitFor(first, 0);
            }
            catch (TimeoutException)
            {
                events.Add($"WaitFor timed out, task cancelled: {first.Cancelled}");
            }
            AioTask<int> second = CreateTask(async () =>
            {
                events.Add("second ran");
                await Sleep(1);
                return 2;
            });
            var scope = new CancelScope(deadline: loop.Time() - 1);
            int value = await scope.RunAsync(async () => await second, cancelledValue: -1);
            events.Add($"scope gave {value}, caught: {scope.CancelledCaught}, task cancelled: {second.Cancelled}");
        });
        Assert.Equal(
        [
            "WaitFor timed out, task cancelled: True",
            "scope gave -1, caught: True, task cancelled: True",
        ], events);
    }

    // ----------------------------------------------------------------- a deadline that passes in a foreign await (real time)

    [Fact]
    public void MoveOnAfter_DeadlinePassesDuringForeignAwait_ReturnsFalse()
    {
        bool finished = AioTest.Run(() => MoveOnAfter(0.05, async () => await Task.Delay(300)), virtualTime: false);
        Assert.False(finished);
    }

    [Fact]
    public void FailAfter_DeadlinePassesDuringForeignAwait_ThrowsTimeout()
    {
        AioTest.Run(async () =>
        {
            await Assert.ThrowsAsync<TimeoutException>(() => FailAfter(0.05, async () =>
            {
                await Task.Delay(300);
                return 1;
            }));
        }, virtualTime: false);
    }

    [Fact]
    public void CancelScope_DeadlinePassesDuringForeignAwait_CancelledCaught()
    {
        CancelScope scope = null!;
        int value = AioTest.Run(async () =>
        {
            scope = CancelScope.AfterDelay(0.05);
            return await scope.RunAsync(async () =>
            {
                await Task.Delay(300);
                return 1;
            }, cancelledValue: -1);
        }, virtualTime: false);
        Assert.Equal(-1, value);
        Assert.True(scope.DeadlineReached);
        Assert.True(scope.CancelledCaught);
    }

    [Fact]
    public void WaitFor_DeadlinePassesDuringForeignAwait_AgreesWithFailAfter()
    {
        var events = new List<string>();
        AioTest.Run(async () =>
        {
            AioTask<int> task = CreateTask(async () =>
            {
                await Task.Delay(300);
                return 1;
            });
            try
            {
                await WaitFor(task, 0.05);
            }
            catch (TimeoutException)
            {
                events.Add("WaitFor timed out");
            }
            try
            {
                await FailAfter(0.05, async () =>
                {
                    await Task.Delay(300);
                    return 1;
                });
            }
            catch (TimeoutException)
            {
                events.Add("FailAfter timed out");
            }
        }, virtualTime: false);
        Assert.Equal(["WaitFor timed out", "FailAfter timed out"], events);
    }

    [Fact]
    public void MoveOnAfter_BodyCatchesDeliveredCancelAndReturns_CountsAsFinished()
    {
        var events = new List<string>();
        bool finished = AioTest.Run(() => MoveOnAfter(1, async () =>
        {
            try
            {
                await Sleep(5);
            }
            catch (CancelledError)
            {
                events.Add("refused");
            }
        }));
        Assert.True(finished);
        Assert.Equal(["refused"], events);
    }

    [Fact]
    public void MoveOnAfter_CancelDeliveredThenForeignAwait_CountsAsFinished()
    {
        bool finished = AioTest.Run(() => MoveOnAfter(0.05, async () =>
        {
            try
            {
                await Sleep(5);
            }
            catch (CancelledError)
            {
                await Task.Delay(10);   // seen and refused; the foreign await after it does not change that
            }
        }), virtualTime: false);
        Assert.True(finished);
    }

    [Fact]
    public void FailAfter_ForeignAwaitInDebugMode_LogsTheTaskOnce()
    {
        var logger = new ListLogger();
        AioTest.Run(async () =>
        {
            EventLoop loop = EventLoop.GetRunningLoop();
            loop.Debug = true;
            loop.Logger = logger;
            AioTask task = CreateTask(async () =>
            {
                await MoveOnAfter(0.05, async () => await Task.Delay(300));
                await MoveOnAfter(0.05, async () => await Task.Delay(300));
            }, name: "slowpoke");
            await task;
        }, virtualTime: false);
        var reports = logger.Entries.Where(e => e.Message.Contains("foreign await", StringComparison.Ordinal)).ToList();
        Assert.Single(reports);
        Assert.Contains("name='slowpoke'", reports[0].Message);
        Assert.Contains("CurrentToken", reports[0].Message);
        Assert.Contains("Cancellable", reports[0].Message);
    }

    [Fact]
    public void FailAfter_ForeignAwaitWithCurrentTokenInDebugMode_LogsNothing()
    {
        var logger = new ListLogger();
        bool finished = AioTest.Run(async () =>
        {
            EventLoop loop = EventLoop.GetRunningLoop();
            loop.Debug = true;
            loop.Logger = logger;
            return await MoveOnAfter(0.05, async () => await Task.Delay(5000, CurrentToken));
        }, virtualTime: false);
        Assert.False(finished);
        Assert.DoesNotContain(logger.Entries, e => e.Message.Contains("foreign await", StringComparison.Ordinal));
    }

    [Fact]
    public void CancelScope_BodyCancelsItsScopeAndReturnsWithoutAwait_CancelledCaught()
    {
        var scope = new CancelScope();
        int value = AioTest.Run(() => scope.RunAsync(() =>
        {
            scope.Cancel();
            return Task.FromResult(1);
        }, cancelledValue: -1));
        Assert.Equal(-1, value);
        Assert.True(scope.CancelledCaught);
    }

    // ----------------------------------------------------------------- refusing a cancellation that came through an awaited future

    [Fact]
    public void Cancel_AwaitingPendingFutureCatchesAndReturns_EndsWithValue()
    {
        AioTest.Run(async () =>
        {
            AioFuture<int> future = EventLoop.GetRunningLoop().CreateFuture<int>();
            AioTask<int> task = CreateTask(async () =>
            {
                try
                {
                    return await future;
                }
                catch (CancelledError)
                {
                    return 42;
                }
            });
            await Sleep(1);
            task.Cancel();
            Assert.Equal(42, await task);
            Assert.False(task.Cancelled);
            Assert.True(future.Cancelled);
        });
    }

    [Fact]
    public void Cancel_AwaitingTaskCatchesAndReturns_EndsWithValue()
    {
        AioTest.Run(async () =>
        {
            AioTask<int> inner = CreateTask(async () =>
            {
                await Sleep(10);
                return 1;
            });
            AioTask<int> task = CreateTask(async () =>
            {
                try
                {
                    return await inner;
                }
                catch (CancelledError)
                {
                    return 42;
                }
            });
            await Sleep(1);
            task.Cancel();
            Assert.Equal(42, await task);
            Assert.False(task.Cancelled);
            Assert.True(inner.Cancelled);
        });
    }

    // ----------------------------------------------------------------- awaiting another loop's future

    [Fact]
    public void Await_FutureOfAnotherLoop_ThrowsNamingBothLoops()
    {
        using var other = new EventLoop(new VirtualClock());
        AioFuture<int> foreign = other.CreateFuture<int>();
        string message = AioTest.Run(async () =>
        {
            EventLoop loop = EventLoop.GetRunningLoop();
            var e = await Assert.ThrowsAsync<InvalidOperationException>(async () => await foreign);
            Assert.Contains(LoopLabel(loop), e.Message);
            return e.Message;
        });
        Assert.Contains(LoopLabel(other), message);
    }

    [Fact]
    public void Await_TaskOfAnotherLoop_ThrowsNamingBothLoops()
    {
        using var other = new EventLoop(new VirtualClock());
        AioTask<int> foreign = other.CreateTask(async () =>
        {
            await Sleep(1);
            return 1;
        });
        string message = AioTest.Run(async () =>
        {
            EventLoop loop = EventLoop.GetRunningLoop();
            var e = await Assert.ThrowsAsync<InvalidOperationException>(async () => await foreign);
            Assert.Contains(LoopLabel(loop), e.Message);
            return e.Message;
        });
        Assert.Contains(LoopLabel(other), message);
        Assert.Equal(1, other.RunUntilComplete(async () => await foreign));
    }

    private static string LoopLabel(EventLoop loop) => loop.ToString().Split(' ')[0].TrimStart('<');

    // ----------------------------------------------------------------- Gather keeps cancel messages

    [Fact]
    public void Gather_AwaiterCancelledWithMessage_CancelledErrorCarriesIt()
    {
        AioTest.Run(async () =>
        {
            AioTask<int> a = CreateTask(async () =>
            {
                await Sleep(10);
                return 1;
            });
            AioTask<int> b = CreateTask(async () =>
            {
                await Sleep(10);
                return 2;
            });
            AioTask<int[]> waiter = CreateTask(() => Gather(a, b));
            await Sleep(1);
            waiter.Cancel("my message");
            var e = await Assert.ThrowsAsync<CancelledError>(async () => await waiter);
            Assert.Equal("my message", e.Message);
        });
    }

    [Fact]
    public void GatherSettled_AwaiterCancelledWithMessage_CancelledErrorCarriesIt()
    {
        AioTest.Run(async () =>
        {
            AioTask<int> a = CreateTask(async () =>
            {
                await Sleep(10);
                return 1;
            });
            AioTask<Outcome<int>[]> waiter = CreateTask(() => GatherSettled(a));
            await Sleep(1);
            waiter.Cancel("my message");
            var e = await Assert.ThrowsAsync<CancelledError>(async () => await waiter);
            Assert.Equal("my message", e.Message);
        });
    }

    [Fact]
    public void GatherSettled_ChildrenCancelledWithOwnMessages_OutcomesKeepThem()
    {
        AioTest.Run(async () =>
        {
            AioTask<int> a = CreateTask(async () =>
            {
                await Sleep(10);
                return 1;
            });
            AioTask<int> b = CreateTask(async () =>
            {
                await Sleep(10);
                return 2;
            });
            AioTask<Outcome<int>[]> waiter = CreateTask(() => GatherSettled(a, b));
            await Sleep(1);
            a.Cancel("stop a");
            b.Cancel("stop b");
            Outcome<int>[] outcomes = await waiter;
            Assert.Equal(["stop a", "stop b"], outcomes.Select(o => o.Exception is CancelledError c ? c.Message : "?"));
        });
    }

    // ----------------------------------------------------------------- Wait refuses bad arguments before waiting

    [Fact]
    public void Wait_UndefinedReturnWhen_ThrowsBeforeWaiting()
    {
        AioTest.Run(async () =>
        {
            EventLoop loop = EventLoop.GetRunningLoop();
            AioTask task = CreateTask(async () => await Sleep(1));
            var e = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => Wait([task], when: (ReturnWhen)99));
            Assert.Equal("when", e.ParamName);
            Assert.Equal(0, loop.Time());
            Assert.False(task.Done);
            await task;
        });
    }

    [Fact]
    public void Wait_NullElement_ThrowsArgumentException()
    {
        AioTest.Run(async () =>
        {
            AioTask task = CreateTask(async () => await Sleep(1));
            var e = await Assert.ThrowsAsync<ArgumentException>(() => Wait([task, null!]));
            Assert.Equal("tasks", e.ParamName);
            await task;
        });
    }

    [Fact]
    public void Wait_TaskOfAnotherLoop_ThrowsArgumentException()
    {
        using var other = new EventLoop(new VirtualClock());
        AioFuture<int> never = other.CreateFuture<int>();
        AioTask<int> foreign = other.CreateTask(async () => await never);
        AioTest.Run(async () =>
        {
            var e = await Assert.ThrowsAsync<ArgumentException>(() => Wait([foreign]));
            Assert.Equal("tasks", e.ParamName);
        });
        other.RunUntilComplete(async () =>
        {
            foreign.Cancel();
            await Wait([foreign]);
        });
    }

    [Fact]
    public void Wait_NegativeTimeout_ReturnsAtOnceWithTheTaskPending()
    {
        AioTest.Run(async () =>
        {
            EventLoop loop = EventLoop.GetRunningLoop();
            AioTask task = CreateTask(async () => await Sleep(1));
            var (done, pending) = await Wait([task, task], timeout: -1);
            Assert.Equal(0, loop.Time());
            Assert.Empty(done);
            Assert.Equal([task], pending);
            await task;
        });
    }
}
