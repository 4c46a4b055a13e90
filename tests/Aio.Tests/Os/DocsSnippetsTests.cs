using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using static Aio.Asyncio;

namespace Aio.Tests.Os;

/// <summary>The code snippets of docs/processes.md, docs/signals-and-shutdown.md and docs/threads.md, verbatim, compiled and run.</summary>
public class DocsSnippetsTests
{
    // ---- docs/processes.md
    static async Task<string> GitHeadAsync()
    {
        AioProcess git = await CreateSubprocessExecAsync("git", ["rev-parse", "HEAD"],
            new ProcessOptions { Stdout = ProcessStdio.Pipe, Stderr = ProcessStdio.Pipe });
        var (stdout, stderr) = await git.CommunicateAsync();
        if (git.ReturnCode != 0)
        {
            throw new InvalidOperationException($"git failed ({git.ReturnCode}): {Encoding.UTF8.GetString(stderr!)}");
        }
        return Encoding.UTF8.GetString(stdout!).Trim();
    }

    static async Task<bool> RunWithDeadlineAsync()
    {
        // The child is started inside the MoveOnAfter scope: when the deadline passes, it gets SIGTERM,
        // and MoveOnAfter returns only after the child has exited.
        return await MoveOnAfter(0.2, async () =>
        {
            AioProcess sleeper = await CreateSubprocessExecAsync("sleep", ["30"],
                new ProcessOptions { TerminateGracePeriod = 1 });
            await sleeper.WaitAsync();
        });
    }

    static async Task<string> SortAsync(IEnumerable<string> lines)
    {
        AioProcess sort = await CreateSubprocessExecAsync("sort", null, ProcessOptions.AllPipes);
        foreach (string line in lines)
        {
            sort.Stdin!.Write(Encoding.UTF8.GetBytes(line + "\n"));
            await sort.Stdin.DrainAsync();   // back-pressure: waits while the child is behind
        }
        sort.Stdin!.WriteEof();
        byte[] first = await sort.Stdout!.ReadUntilAsync("\n"u8.ToArray());
        await sort.Stdout.ReadAsync();       // the rest, to EOF
        await sort.WaitAsync();
        return Encoding.UTF8.GetString(first).TrimEnd('\n');
    }

    // ---- docs/signals-and-shutdown.md
    static async Task ReloadOnSighupAsync(Action reload)
    {
        EventLoop loop = EventLoop.GetRunningLoop();
        loop.AddSignalHandler(PosixSignal.SIGHUP, reload);   // runs on the loop thread, like CallSoon
        try
        {
            await Sleep(3600);
        }
        finally
        {
            loop.RemoveSignalHandler(PosixSignal.SIGHUP);    // the default action is back
        }
    }

    // ---- docs/threads.md
    static async Task<int> CountLinesAsync(string path)
    {
        // File.ReadLines blocks: run it on an executor thread; the loop keeps serving other tasks.
        return await ToThread(() => File.ReadLines(path).Count());
    }

    static int CallFromAnotherThread(EventLoop loop) =>
        // Any thread: submit a coroutine to the loop and wait for its result.
        RunCoroutineThreadSafe(async () =>
        {
            await Sleep(0.01);
            return 42;
        }, loop).GetAwaiter().GetResult();

    [Fact]
    public void ProcessesSnippets_Run()
    {
        Func<Task<string>> compiled = GitHeadAsync;
        Assert.NotNull(compiled);
        var watch = Stopwatch.StartNew();
        Assert.False(Run(RunWithDeadlineAsync));
        Assert.Equal("apple", Run(() => SortAsync(["pear", "apple", "zucchini"])));
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(20));
    }

    [Fact]
    public void SignalsSnippet_SighupWhileWaiting_RunsTheReload()
    {
        int reloads = 0;
        Run(async () =>
        {
            AioTask waiter = CreateTask(() => ReloadOnSighupAsync(() => reloads++));
            await Sleep(0.05);
            Assert.Equal(0, Posix.kill(Environment.ProcessId, 1));
            for (int i = 0; i < 400 && reloads == 0; i++)
            {
                await Sleep(0.025);
            }
            waiter.Cancel();
        });
        Assert.Equal(1, reloads);
    }

    [Fact]
    public void ThreadsSnippets_Run()
    {
        string file = Path.GetTempFileName();
        try
        {
            File.WriteAllText(file, "a\nb\nc\n");
            var (lines, answer) = Run(async () =>
            {
                EventLoop loop = EventLoop.GetRunningLoop();
                int n = await CountLinesAsync(file);
                int a = await Task.Factory.StartNew(() => CallFromAnotherThread(loop), CancellationToken.None,
                    TaskCreationOptions.LongRunning, TaskScheduler.Default);
                return (n, a);
            });
            Assert.Equal(3, lines);
            Assert.Equal(42, answer);
        }
        finally
        {
            File.Delete(file);
        }
    }
}
