using Aio.Testing;
using static Aio.Asyncio;

namespace Aio.Tests.Tasks;

public sealed class CancellationTests
{
    [Fact]
    public void Cancel_LevelTriggered_SecondAwaitAfterCaughtCancelThrowsAgain()
    {
        var events = new List<string>();
        AioTest.Run(async () =>
        {
            AioTask t = CreateTask(async () =>
            {
                try
                {
                    await Sleep(10);
                }
                catch (CancelledError)
                {
                    events.Add("caught-1");
                }
                try
                {
                    await Sleep(0);
                    events.Add("not-reached");
                }
                catch (CancelledError)
                {
                    events.Add("caught-2");
                    throw;
                }
            });
            await Sleep(1);
            t.Cancel();
            await Assert.ThrowsAsync<CancelledError>(async () => await t);
            Assert.True(t.Cancelled);
        });
        Assert.Equal(new[] { "caught-1", "caught-2" }, events);
    }

    [Fact]
    public void Cancel_BodyCatchesAndReturnsWithoutAwait_EndsWithValue()
    {
        AioTest.Run(async () =>
        {
            AioTask<int> t = CreateTask(async () =>
            {
                try
                {
                    await Sleep(10);
                    return 0;
                }
                catch (CancelledError)
                {
                    return 7; // refusing the cancellation: visible in the code
                }
            });
            await Sleep(1);
            t.Cancel();
            Assert.Equal(7, await t);
            Assert.False(t.Cancelled);
        });
    }

    [Fact]
    public void Cancel_RequestedButNeverDelivered_TaskEndsCancelled()
    {
        AioTest.Run(async () =>
        {
            AioTask<int> t = null!;
            t = CreateTask(async () =>
            {
                await Sleep(0);
                t.Cancel(); // requested while running; the body then returns without another Aio await
                return 1;
            });
            await Assert.ThrowsAsync<CancelledError>(async () => await t);
            Assert.True(t.Cancelled);
        });
    }

    [Fact]
    public void Cancel_Message_ReachesCancelledError()
    {
        AioTest.Run(async () =>
        {
            AioTask t = CreateTask(async () => await Sleep(10));
            await Sleep(1);
            t.Cancel("shutting down");
            var e = await Assert.ThrowsAsync<CancelledError>(async () => await t);
            Assert.Equal("shutting down", e.Message);
            Assert.Equal(1, t.Cancelling);
        });
    }

    [Fact]
    public void CancelScope_Cancel_EndsBodyQuietlyAndRecordsCaught()
    {
        AioTest.Run(async () =>
        {
            var scope = new CancelScope();
            bool after = false;
            await scope.RunAsync(async () =>
            {
                scope.Cancel();
                await Sleep(1);
                after = true;
            });
            Assert.False(after);
            Assert.True(scope.CancelCalled);
            Assert.True(scope.CancelledCaught);
            await Sleep(0); // the scope is left: awaits work again
        });
    }

    [Fact]
    public void CancelScope_Shielded_IgnoresOuterCancellation()
    {
        var events = new List<string>();
        AioTest.Run(async () =>
        {
            AioTask t = CreateTask(async () =>
            {
                try
                {
                    await Sleep(10);
                }
                finally
                {
                    await new CancelScope(shield: true).RunAsync(async () =>
                    {
                        await Sleep(1);
                        events.Add("cleanup-awaited");
                    });
                }
            });
            await Sleep(1);
            t.Cancel();
            await Assert.ThrowsAsync<CancelledError>(async () => await t);
        });
        Assert.Equal(new[] { "cleanup-awaited" }, events);
    }

    [Fact]
    public void CancelScope_Deadline_CancelsAtLoopTime()
    {
        double when = AioTest.Run(async () =>
        {
            EventLoop loop = EventLoop.GetRunningLoop();
            var scope = new CancelScope(deadline: loop.Time() + 3);
            await scope.RunAsync(async () => await Sleep(100));
            Assert.True(scope.DeadlineReached);
            return loop.Time();
        });
        Assert.Equal(3, when, 6);
    }

    [Fact]
    public void CancelScope_RunTwice_Throws()
    {
        AioTest.Run(async () =>
        {
            var scope = new CancelScope();
            await scope.RunAsync(async () => await Sleep(0));
            await Assert.ThrowsAsync<InvalidOperationException>(() => scope.RunAsync(async () => await Sleep(0)));
        });
    }

    [Fact]
    public void CurrentToken_CancelledWhenTaskCancelled()
    {
        AioTest.Run(async () =>
        {
            CancellationToken seen = default;
            AioTask t = CreateTask(async () =>
            {
                seen = CurrentToken;
                await Sleep(10);
            });
            await Sleep(1);
            Assert.False(seen.IsCancellationRequested);
            t.Cancel();
            await Assert.ThrowsAsync<CancelledError>(async () => await t);
            Assert.True(seen.IsCancellationRequested);
        });
    }

    [Fact]
    public void CurrentToken_InsideTimeout_CancelledAtDeadline()
    {
        AioTest.Run(async () =>
        {
            CancellationToken token = default;
            await Assert.ThrowsAsync<TimeoutException>(() => FailAfter(2, async () =>
            {
                token = CurrentToken;
                await Sleep(10);
            }));
            await Sleep(0);
            Assert.True(token.IsCancellationRequested);
        });
    }

    [Fact]
    public void Cancellable_ForeignAwait_InterruptedByCancel()
    {
        AioTest.Run(async () =>
        {
            var never = new TaskCompletionSource<int>();
            AioTask t = CreateTask(async () => await Cancellable(never.Task));
            await Sleep(0.01);
            t.Cancel();
            await Assert.ThrowsAsync<CancelledError>(async () => await t);
            never.SetResult(1);
        }, virtualTime: false);
    }

    [Fact]
    public void Cancellable_ForeignResult_Returned()
    {
        int v = AioTest.Run(async () => await Cancellable(Task.Run(() => 9)), virtualTime: false);
        Assert.Equal(9, v);
    }

    [Fact]
    public void CancelledError_IsOperationCanceledException()
    {
        Assert.IsAssignableFrom<OperationCanceledException>(new CancelledError());
    }

    [Fact]
    public void Token_ScopeCancelledThenExitedInTheSameStep_NoErrorReachesTheLoop()
    {
        // The scope's token is cancelled on a later loop iteration; the scope ended (and freed its token source) before it.
        string state = AioTest.Run(async () =>
        {
            var scope = new CancelScope();
            CancellationToken token = default;
            await scope.RunAsync(() =>
            {
                token = scope.Token;
                scope.Cancel();
                return Task.CompletedTask;
            });
            await Sleep(0);
            await Sleep(0);
            return $"{scope.CancelCalled} {token.IsCancellationRequested}";
        });
        Assert.Equal("True False", state);
    }
}
