using System.Runtime.InteropServices;
using static Aio.Asyncio;

namespace Aio.Tests;

public sealed class RunnerTests
{
    [Fact]
    public void Run_ReturnsMainResult_AndClosesLoop()
    {
        EventLoop? loop = null;
        int v = Asyncio.Run(async () =>
        {
            loop = EventLoop.GetRunningLoop();
            await Sleep(0.01);
            return 5;
        });
        Assert.Equal(5, v);
        Assert.True(loop!.IsClosed);
    }

    [Fact]
    public void Run_NewLoopPerCall()
    {
        EventLoop a = Asyncio.Run(async () => { await Sleep(0); return EventLoop.GetRunningLoop(); });
        EventLoop b = Asyncio.Run(async () => { await Sleep(0); return EventLoop.GetRunningLoop(); });
        Assert.NotSame(a, b);
    }

    [Fact]
    public void Run_CancelsLeftoverTasksAndAwaitsThem()
    {
        var events = new List<string>();
        Asyncio.Run(async () =>
        {
            _ = CreateTask(async () =>
            {
                try
                {
                    await Sleep(100);
                }
                catch (CancelledError)
                {
                    events.Add("leftover-cancelled");
                    await new CancelScope(shield: true).RunAsync(async () => await Sleep(0.01));
                    events.Add("leftover-cleanup-done");
                    throw;
                }
            });
            await Sleep(0.01);
            events.Add("main-done");
        });
        Assert.Equal(new[] { "main-done", "leftover-cancelled", "leftover-cleanup-done" }, events);
    }

    [Fact]
    public void Run_LeftoverFailsDuringShutdown_ReportedToHandler()
    {
        var contexts = new List<ExceptionContext>();
        using var runner = new Runner();
        runner.GetLoop().ExceptionHandler = (_, c) => contexts.Add(c);
        runner.Run(async () =>
        {
            _ = CreateTask(async () =>
            {
                try
                {
                    await Sleep(100);
                }
                catch (CancelledError)
                {
                    throw new InvalidOperationException("cleanup broke");
                }
            });
            await Sleep(0.01);
        });
        runner.Close();
        ExceptionContext c = Assert.Single(contexts);
        Assert.Contains("shutdown", c.Message);
        Assert.IsType<InvalidOperationException>(c.Exception);
    }

    [Fact]
    public void Run_MainThrows_Rethrows()
    {
        var e = Assert.Throws<InvalidOperationException>(() => Asyncio.Run(async () =>
        {
            await Sleep(0);
            throw new InvalidOperationException("main failed");
        }));
        Assert.Equal("main failed", e.Message);
    }

    [Fact]
    public void Runner_Interrupt_CancelsMainAndThrowsKeyboardInterrupt()
    {
        using var runner = new Runner { HandleSignals = false };
        var events = new List<string>();
        var e = Assert.Throws<KeyboardInterrupt>(() => runner.Run(async () =>
        {
            var t = new Thread(runner.Interrupt);
            t.Start();
            try
            {
                await Sleep(30);
            }
            catch (CancelledError)
            {
                events.Add("main-cancelled");
                throw;
            }
        }));
        Assert.Equal(new[] { "main-cancelled" }, events);
        Assert.Equal((PosixSignal.SIGINT, 130, "The program was interrupted by SIGINT (Ctrl+C)."), (e.Signal, e.ProcessExitCode, e.Message));
    }

    [Fact]
    public void KeyboardInterrupt_ForSigterm_ExitsWith143()
    {
        var e = new KeyboardInterrupt(PosixSignal.SIGTERM);
        Assert.Equal((PosixSignal.SIGTERM, 143, "The program was terminated by SIGTERM."), (e.Signal, e.ProcessExitCode, e.Message));
        Assert.Equal(130, new KeyboardInterrupt().ProcessExitCode); // no signal known: SIGINT's code
    }

    [Fact]
    public void Runner_RunSeveralTimes_SameLoop()
    {
        using var runner = new Runner();
        EventLoop a = runner.Run(async () => { await Sleep(0); return EventLoop.GetRunningLoop(); });
        EventLoop b = runner.Run(async () => { await Sleep(0); return EventLoop.GetRunningLoop(); });
        Assert.Same(a, b);
        runner.Close();
        Assert.True(a.IsClosed);
        Assert.Throws<InvalidOperationException>(() => runner.GetLoop());
    }

    [Fact]
    public void Run_FromInsideRunningLoop_Throws()
    {
        Asyncio.Run(async () =>
        {
            Assert.Throws<InvalidOperationException>(() => Asyncio.Run(async () => await Sleep(0)));
            await Sleep(0);
        });
    }
}
