using Aio.Testing;
using static Aio.Asyncio;

namespace Aio.Tests.Tasks;

public sealed class TaskGroupTests
{
    [Fact]
    public void Cancel_ManyChildrenAfterMostFinishedOutOfOrder_ReachesTheRestInCreationOrder()
    {
        // 60 children; two thirds finish first, newest first among them (the finished leave holes and the
        // list is squeezed several times); then a failure cancels the rest, which must see it in creation order.
        var events = new List<string>();
        AioTest.Run(async () =>
        {
            await Assert.ThrowsAsync<AggregateException>(() => TaskGroup.Run(async g =>
            {
                for (int i = 0; i < 60; i++)
                {
                    int k = i;
                    _ = g.CreateTask(async () =>
                    {
                        try
                        {
                            await Sleep(k % 3 == 0 ? 1000 : 100 - k);
                        }
                        catch (CancelledError)
                        {
                            events.Add($"c{k}");
                            throw;
                        }
                    });
                }
                await Sleep(200);
                events.Add($"after finishes");
                _ = g.CreateTask(async () => { await Sleep(0); throw new InvalidOperationException("fail"); });
            }));
        });
        var expected = new List<string> { "after finishes" };
        for (int k = 0; k < 60; k += 3)
        {
            expected.Add($"c{k}");
        }
        Assert.Equal(expected, events);
    }

    [Fact]
    public void Run_WaitsForAllChildren()
    {
        var done = new List<int>();
        double t = AioTest.Run(async () =>
        {
            await TaskGroup.Run(async g =>
            {
                for (int i = 3; i >= 1; i--)
                {
                    int k = i;
                    _ = g.CreateTask(async () => { await Sleep(k); done.Add(k); });
                }
                await Task.CompletedTask;
            });
            return EventLoop.GetRunningLoop().Time();
        });
        Assert.Equal(new[] { 1, 2, 3 }, done);
        Assert.Equal(3, t, 6);
    }

    [Fact]
    public void Run_ChildFails_CancelsSiblingsAndBody_ThrowsAggregateOfRealErrors()
    {
        var events = new List<string>();
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
                        events.Add("sibling-cancelled");
                        throw;
                    }
                });
                _ = g.CreateTask(async () => { await Sleep(1); throw new InvalidOperationException("child failed"); });
                try
                {
                    await Sleep(10);
                }
                catch (CancelledError)
                {
                    events.Add("body-cancelled");
                    throw;
                }
            }));
            Exception inner = Assert.Single(e.InnerExceptions);
            Assert.Equal("child failed", inner.Message);
            Assert.DoesNotContain(e.InnerExceptions, x => x is OperationCanceledException);
            Assert.Equal(1, EventLoop.GetRunningLoop().Time(), 6);
        });
        Assert.Equal(new[] { "body-cancelled", "sibling-cancelled" }, events.OrderBy(x => x));
    }

    [Fact]
    public void Run_TwoChildrenFail_BothErrorsCollected()
    {
        AioTest.Run(async () =>
        {
            var e = await Assert.ThrowsAsync<AggregateException>(() => TaskGroup.Run(async g =>
            {
                _ = g.CreateTask(async () => { await Sleep(1); throw new InvalidOperationException("a"); });
                _ = g.CreateTask(async () =>
                {
                    try
                    {
                        await Sleep(10);
                    }
                    catch (CancelledError)
                    {
                        throw new ArgumentException("b-during-cleanup");
                    }
                });
                await Task.CompletedTask;
            }));
            Assert.Equal(new[] { "a", "b-during-cleanup" }, e.InnerExceptions.Select(x => x.Message).OrderBy(x => x));
        });
    }

    [Fact]
    public void Run_BodyFails_CancelsChildren()
    {
        AioTest.Run(async () =>
        {
            AioTask? child = null;
            var e = await Assert.ThrowsAsync<AggregateException>(() => TaskGroup.Run(async g =>
            {
                child = g.CreateTask(async () => await Sleep(10));
                await Sleep(1);
                throw new InvalidOperationException("body");
            }));
            Assert.Equal("body", Assert.Single(e.InnerExceptions).Message);
            Assert.True(child!.Cancelled);
        });
    }

    [Fact]
    public void Run_ParentCancelled_CancelsChildrenAndThrowsCancelled()
    {
        AioTest.Run(async () =>
        {
            AioTask? child = null;
            AioTask parent = CreateTask(async () => await TaskGroup.Run(async g =>
            {
                child = g.CreateTask(async () => await Sleep(10));
                await Sleep(10);
            }));
            await Sleep(1);
            parent.Cancel();
            await Assert.ThrowsAsync<CancelledError>(async () => await parent);
            Assert.True(child!.Cancelled);
        });
    }

    [Fact]
    public void Run_ParentCancelledAndChildFailsDuringCleanup_ErrorsWin()
    {
        AioTest.Run(async () =>
        {
            AioTask parent = CreateTask(async () => await TaskGroup.Run(async g =>
            {
                _ = g.CreateTask(async () =>
                {
                    try
                    {
                        await Sleep(10);
                    }
                    catch (CancelledError)
                    {
                        throw new InvalidOperationException("cleanup failed");
                    }
                });
                await Sleep(10);
            }));
            await Sleep(1);
            parent.Cancel();
            await Assert.ThrowsAsync<AggregateException>(async () => await parent);
        });
    }

    [Fact]
    public void CreateTask_AfterChildFailed_Throws()
    {
        AioTest.Run(async () =>
        {
            Exception? late = null;
            await Assert.ThrowsAsync<AggregateException>(() => TaskGroup.Run(async g =>
            {
                _ = g.CreateTask(async () => { await Sleep(1); throw new InvalidOperationException("x"); });
                try
                {
                    await Sleep(5);
                }
                catch (CancelledError)
                {
                    late = Record.Exception(() => g.CreateTask(async () => await Sleep(1)));
                    throw;
                }
            }));
            Assert.Contains("shutting-down", Assert.IsType<InvalidOperationException>(late).Message);
        });
    }

    [Fact]
    public void CreateTask_AfterGroupFinished_Throws()
    {
        AioTest.Run(async () =>
        {
            TaskGroup? kept = null;
            await TaskGroup.Run(async g => { kept = g; await Task.CompletedTask; });
            var e = Assert.Throws<InvalidOperationException>(() => kept!.CreateTask(async () => await Sleep(0)));
            Assert.Contains("finished", e.Message);
        });
    }

    [Fact]
    public void Run_NestedGroups_KeepCancellationsApart()
    {
        AioTest.Run(async () =>
        {
            bool outerSiblingFinished = false;
            await TaskGroup.Run(async outer =>
            {
                _ = outer.CreateTask(async () => { await Sleep(3); outerSiblingFinished = true; });
                await Assert.ThrowsAsync<AggregateException>(() => TaskGroup.Run(async inner =>
                {
                    _ = inner.CreateTask(async () => { await Sleep(1); throw new InvalidOperationException("inner"); });
                    await Sleep(10);
                }));
            });
            Assert.True(outerSiblingFinished);
        });
    }

    [Fact]
    public void Run_WithResult_ReturnsBodyValue()
    {
        int v = AioTest.Run(async () => await TaskGroup.Run(async g =>
        {
            AioTask<int> a = g.CreateTask(async () => { await Sleep(1); return 20; });
            AioTask<int> b = g.CreateTask(async () => { await Sleep(2); return 22; });
            return await a + await b;
        }));
        Assert.Equal(42, v);
    }
}
