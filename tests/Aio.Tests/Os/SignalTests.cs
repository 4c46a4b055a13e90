using System.Runtime.InteropServices;
using System.Text;

namespace Aio.Tests.Os;

public class SignalTests
{
    [Fact]
    public void AddSignalHandler_SignalRaised_CallbackRunsOnTheLoopThread()
    {
        var (loopThread, handlerThread) = Asyncio.Run(async () =>
        {
            EventLoop loop = EventLoop.GetRunningLoop();
            AioFuture<int> ran = loop.CreateFuture<int>();
            loop.AddSignalHandler((PosixSignal)Posix.SIGUSR2, () => ran.TrySetResult(Environment.CurrentManagedThreadId));
            Posix.RaiseToSelf(Posix.SIGUSR2);
            int handlerThread = await Asyncio.FailAfter(10, async () => await ran);
            Assert.True(loop.RemoveSignalHandler((PosixSignal)Posix.SIGUSR2));
            return (Environment.CurrentManagedThreadId, handlerThread);
        });
        Assert.Equal(loopThread, handlerThread);
    }

    [Fact]
    public void AddSignalHandler_SecondHandlerForSameSignal_ReplacesTheFirst()
    {
        var calls = new List<string>();
        Asyncio.Run(async () =>
        {
            EventLoop loop = EventLoop.GetRunningLoop();
            AioFuture<bool> ran = loop.CreateFuture<bool>();
            loop.AddSignalHandler((PosixSignal)Posix.SIGUSR2, () => calls.Add("first"));
            loop.AddSignalHandler((PosixSignal)Posix.SIGUSR2, () => { calls.Add("second"); ran.TrySetResult(true); });
            Posix.RaiseToSelf(Posix.SIGUSR2);
            await Asyncio.FailAfter(10, async () => await ran);
            loop.RemoveSignalHandler((PosixSignal)Posix.SIGUSR2);
        });
        Assert.Equal(["second"], calls);
    }

    [Fact]
    public void RemoveSignalHandler_NoHandler_ReturnsFalse()
    {
        using var loop = new EventLoop();
        Assert.False(loop.RemoveSignalHandler(PosixSignal.SIGHUP));
    }

    [Fact]
    public void AddSignalHandler_Sigkill_ThrowsArgumentException()
    {
        using var loop = new EventLoop();
        var e = Assert.Throws<ArgumentException>(() => loop.AddSignalHandler((PosixSignal)Posix.SIGKILL, () => { }));
        Assert.Contains("cannot be caught", e.Message);
    }

    [Fact]
    public void AddSignalHandler_FromAnotherThread_Throws()
    {
        using var loop = new EventLoop();
        Exception? error = null;
        var thread = new Thread(() =>
        {
            try
            {
                loop.AddSignalHandler(PosixSignal.SIGHUP, () => { });
            }
            catch (Exception e)
            {
                error = e;
            }
        });
        thread.Start();
        thread.Join();
        Assert.IsType<InvalidOperationException>(error);
        Assert.Contains("CallSoonThreadSafe", error.Message);
    }

    [Fact]
    public void TaskDumpOnSignal_Sigusr1WhileRunning_LogsEveryTask()
    {
        var logger = new ListLogger();
        Asyncio.Run(async () =>
        {
            EventLoop loop = EventLoop.GetRunningLoop();
            loop.Logger = logger;
            AioTask sleeper = Asyncio.CreateTask(() => Asyncio.Sleep(30).AsTask(), name: "sleeper");
            await Asyncio.Sleep(0);
            Posix.RaiseToSelf(Posix.SIGUSR1);
            for (int i = 0; i < 400 && !logger.Has(120); i++)
            {
                await Asyncio.Sleep(0.025);
            }
            sleeper.Cancel();
        });
        string? dump = logger.WaitFor(120, TimeSpan.Zero);
        Assert.NotNull(dump);
        Assert.Contains("Task 'sleeper'", dump);
        Assert.Contains("Task 'main'", dump);
    }

    // ----------------------------------------------------------------- an interrupted Asyncio.Run, end to end (tests/InterruptProbe)

    [Fact]
    public void Run_SigintLeftUncaught_ExitsWith130AndOneLineOnStderr()
    {
        var (stdout, stderr, code) = RunProbe("uncaught", Posix.SIGINT);
        Assert.Equal("ready\n", stdout);
        Assert.Equal("KeyboardInterrupt: The program was interrupted by SIGINT (Ctrl+C).\n", stderr); // no "Unhandled exception", no stack
        Assert.Equal(130, code);
    }

    [Fact]
    public void Run_SigtermLeftUncaught_ExitsWith143AndOneLineOnStderr()
    {
        var (stdout, stderr, code) = RunProbe("uncaught", Posix.SIGTERM);
        Assert.Equal("ready\n", stdout);
        Assert.Equal("KeyboardInterrupt: The program was terminated by SIGTERM.\n", stderr);
        Assert.Equal(143, code);
    }

    [Fact]
    public void Run_ProgramCatchesKeyboardInterrupt_ExitsWithItsOwnCodeAndOutput()
    {
        var (stdout, stderr, code) = RunProbe("caught", Posix.SIGINT);
        Assert.Equal("ready\ncaught SIGINT\n", stdout);
        Assert.Equal("", stderr);
        Assert.Equal(7, code);
    }

    /// <summary>Runs tests/InterruptProbe in <paramref name="mode"/>, sends it <paramref name="signal"/> once it is ready, and returns what it printed and its exit code.</summary>
    private static (string Stdout, string Stderr, int Code) RunProbe(string mode, int signal)
    {
        string dll = ExampleProgram.Find("InterruptProbe", "tests");
        string dotnet = ExampleProgram.Dotnet;
        return Asyncio.Run(async () =>
        {
            AioProcess p = await Asyncio.CreateSubprocessExecAsync(dotnet, [dll, mode],
                new ProcessOptions { Stdout = ProcessStdio.Pipe, Stderr = ProcessStdio.Pipe, TerminateGracePeriod = 1 });
            byte[] ready = await Asyncio.FailAfter(60, () => p.Stdout!.ReadLineAsync());
            p.SendSignal(signal);
            var (rest, err) = await Asyncio.FailAfter(60, () => p.CommunicateAsync());
            return (Encoding.UTF8.GetString(ready) + Encoding.UTF8.GetString(rest!), Encoding.UTF8.GetString(err!), p.ReturnCode!.Value);
        });
    }
}
