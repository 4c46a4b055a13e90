using System.Diagnostics;
using Aio.Examples.Guides;
using static Aio.Asyncio;

namespace Aio.Tests.Os;

/// <summary>
/// The code of docs/processes.md, docs/signals-and-shutdown.md and docs/threads.md lives in examples/Guides
/// (Docs/DocsTests checks the pages copy it verbatim); these tests run it.
/// </summary>
public class DocsSnippetsTests
{
    [Fact]
    public void ProcessesSnippets_Run()
    {
        Func<Task<string>> compiled = ProcessesGuide.GitHeadAsync;
        Assert.NotNull(compiled);
        var watch = Stopwatch.StartNew();
        Assert.False(Run(ProcessesGuide.RunWithDeadlineAsync));
        Assert.Equal("apple", Run(() => ProcessesGuide.SortAsync(["pear", "apple", "zucchini"])));
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(20));
    }

    [Fact]
    public void SignalsSnippet_SighupWhileWaiting_RunsTheReload()
    {
        int reloads = 0;
        Run(async () =>
        {
            AioTask waiter = CreateTask(() => SignalsGuide.ReloadOnSighupAsync(() => reloads++));
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
                int n = await ThreadsGuide.CountLinesAsync(file);
                int a = await Task.Factory.StartNew(() => ThreadsGuide.CallFromAnotherThread(loop), CancellationToken.None,
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
