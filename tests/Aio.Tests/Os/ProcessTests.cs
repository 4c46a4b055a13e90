using System.Diagnostics;
using System.Text;

namespace Aio.Tests.Os;

public class ProcessTests
{
    private static readonly ProcessOptions Pipes = ProcessOptions.AllPipes;

    [Fact]
    public void CreateSubprocessExecAsync_Echo_ReadsStdoutAndReturnsZero()
    {
        var (output, code) = Asyncio.Run(async () =>
        {
            AioProcess p = await Asyncio.CreateSubprocessExecAsync("echo", ["hello", "world"], new ProcessOptions { Stdout = ProcessStdio.Pipe });
            byte[] line = await p.Stdout!.ReadLineAsync();
            return (Encoding.UTF8.GetString(line), await p.WaitAsync());
        });
        Assert.Equal("hello world\n", output);
        Assert.Equal(0, code);
    }

    [Fact]
    public void CreateSubprocessShellAsync_ExitCode_IsReturned()
    {
        int code = Asyncio.Run(async () =>
        {
            AioProcess p = await Asyncio.CreateSubprocessShellAsync("exit 7");
            return await p.WaitAsync();
        });
        Assert.Equal(7, code);
    }

    [Fact]
    public void CommunicateAsync_10MiBOnStdoutAndStderrAtOnce_ReadsBothWithoutDeadlock()
    {
        const int size = 10 * 1024 * 1024;
        var (stdout, stderr, code) = Asyncio.Run(async () =>
        {
            AioProcess p = await Asyncio.CreateSubprocessShellAsync(
                $"head -c {size} /dev/zero >&2 & head -c {size} /dev/zero; wait", Pipes);
            var (o, e) = await p.CommunicateAsync();
            return (o, e, p.ReturnCode);
        });
        Assert.Equal(size, stdout!.Length);
        Assert.Equal(size, stderr!.Length);
        Assert.Equal(0, code);
    }

    [Fact]
    public void CommunicateAsync_Input_IsFedToStdinAndEchoedBack()
    {
        byte[] input = new byte[3 * 1024 * 1024];
        new Random(42).NextBytes(input);
        byte[]? output = Asyncio.Run(async () =>
        {
            AioProcess p = await Asyncio.CreateSubprocessExecAsync("cat", null, Pipes);
            var (o, _) = await p.CommunicateAsync(input);
            return o;
        });
        Assert.Equal(input, output);
    }

    [Fact]
    public void CommunicateAsync_ChildIgnoresStdin_BrokenPipeIsIgnored()
    {
        var (stdout, code) = Asyncio.Run(async () =>
        {
            AioProcess p = await Asyncio.CreateSubprocessShellAsync("exec 0<&-; echo done", Pipes);
            var (o, _) = await p.CommunicateAsync(new byte[4 * 1024 * 1024]);
            return (Encoding.UTF8.GetString(o!), p.ReturnCode);
        });
        Assert.Equal("done\n", stdout);
        Assert.Equal(0, code);
    }

    [Fact]
    public void Kill_RunningChild_ReturnCodeIsMinus9()
    {
        int code = Asyncio.Run(async () =>
        {
            AioProcess p = await Asyncio.CreateSubprocessExecAsync("sleep", ["30"]);
            Assert.Null(p.ReturnCode);
            p.Kill();
            return await p.WaitAsync();
        });
        Assert.Equal(-9, code);
    }

    [Fact]
    public void Terminate_RunningChild_ReturnCodeIsMinus15()
    {
        int code = Asyncio.Run(async () =>
        {
            AioProcess p = await Asyncio.CreateSubprocessExecAsync("sleep", ["30"]);
            p.Terminate();
            return await p.WaitAsync();
        });
        Assert.Equal(-15, code);
    }

    [Fact]
    public void Options_StderrToStdoutAndStdinNull_AreWired()
    {
        string output = Asyncio.Run(async () =>
        {
            AioProcess p = await Asyncio.CreateSubprocessShellAsync("echo out; echo err >&2; cat",
                new ProcessOptions { Stdin = ProcessStdio.Null, Stdout = ProcessStdio.Pipe, Stderr = ProcessStdio.Stdout });
            var (o, e) = await p.CommunicateAsync();
            Assert.Null(e);
            return Encoding.UTF8.GetString(o!);
        });
        Assert.Equal("out\nerr\n", output);
    }

    [Fact]
    public void Options_WorkingDirectoryAndEnvironment_AreApplied()
    {
        string dir = Path.GetTempPath().TrimEnd('/');
        string output = Asyncio.Run(async () =>
        {
            AioProcess p = await Asyncio.CreateSubprocessShellAsync("pwd; echo \"$AIO_TEST_VAR\"",
                new ProcessOptions
                {
                    Stdout = ProcessStdio.Pipe,
                    WorkingDirectory = dir,
                    Environment = new Dictionary<string, string?> { ["AIO_TEST_VAR"] = "from options" },
                });
            var (o, _) = await p.CommunicateAsync();
            return Encoding.UTF8.GetString(o!);
        });
        Assert.Equal($"{dir}\nfrom options\n", output);
    }

    [Fact]
    public void CreateSubprocessExecAsync_UnknownProgram_ThrowsFileNotFound()
    {
        var e = Assert.Throws<FileNotFoundException>(() => Asyncio.Run(async () =>
        {
            await Asyncio.CreateSubprocessExecAsync("aio-no-such-program-xyz");
        }));
        Assert.Contains("PATH", e.Message);
    }

    [Fact]
    public void ScopeCancelled_ChildRunning_ChildIsTerminatedAndReaped()
    {
        int pid = 0;
        int? returnCode = null;
        var watch = Stopwatch.StartNew();
        Asyncio.Run(async () =>
        {
            AioTask worker = Asyncio.CreateTask(async () =>
            {
                AioProcess p = await Asyncio.CreateSubprocessExecAsync("sleep", ["30"]);
                pid = p.Pid;
                try
                {
                    await p.WaitAsync();
                }
                finally
                {
                    returnCode = p.ReturnCode;
                }
            }, "worker");
            while (pid == 0)
            {
                await Asyncio.Sleep(0.01);
            }
            worker.Cancel();
            await Assert.ThrowsAsync<CancelledError>(async () => await worker);
        });
        Assert.Equal(-15, returnCode);       // WaitAsync returned only after the child was gone
        Assert.False(Posix.Exists(pid));     // reaped: no zombie left
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(20));
    }

    [Fact]
    public void ScopeCancelled_ChildIgnoresSigterm_SigkillAfterGracePeriod()
    {
        int pid = 0;
        int? returnCode = null;
        var watch = Stopwatch.StartNew();
        Asyncio.Run(async () =>
        {
            var scope = new CancelScope();
            AioTask worker = Asyncio.CreateTask(() => scope.RunAsync(async () =>
            {
                AioProcess p = await Asyncio.CreateSubprocessShellAsync("trap '' TERM; echo ready; sleep 30",
                    new ProcessOptions { Stdout = ProcessStdio.Pipe, TerminateGracePeriod = 0.5 });
                await p.Stdout!.ReadLineAsync(); // the trap is installed
                pid = p.Pid;
                try
                {
                    await p.WaitAsync();
                }
                finally
                {
                    returnCode = p.ReturnCode;
                }
            }), "worker");
            while (pid == 0)
            {
                await Asyncio.Sleep(0.01);
            }
            scope.Cancel();
            await worker;
        });
        Assert.Equal(-9, returnCode);
        Assert.False(Posix.Exists(pid));
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(20), $"took {watch.Elapsed}");
    }

    [Fact]
    public void WaitAsync_CancelledByInnerTimeout_ChildKeepsRunning()
    {
        Asyncio.Run(async () =>
        {
            AioProcess p = await Asyncio.CreateSubprocessExecAsync("sleep", ["30"]);
            await Assert.ThrowsAsync<TimeoutException>(() => Asyncio.FailAfter(0.1, () => p.WaitAsync()));
            Assert.Null(p.ReturnCode);
            Assert.True(Posix.Exists(p.Pid));
            p.Kill();
            Assert.Equal(-9, await p.WaitAsync());
        });
    }

    [Fact]
    public void LoopClose_ChildStillRunning_IsKilledAndReaped()
    {
        int pid;
        using (var loop = new EventLoop())
        {
            pid = loop.RunUntilComplete(async () =>
            {
                AioProcess p = await Asyncio.CreateSubprocessExecAsync("sleep", ["30"]);
                return p.Pid;
            });
        }
        Assert.False(Posix.Exists(pid));
    }

    [Fact]
    public void AwaitForeachOnStdout_ManyLines_YieldsEachLine()
    {
        List<string> lines = Asyncio.Run(async () =>
        {
            AioProcess p = await Asyncio.CreateSubprocessShellAsync("for i in 1 2 3; do echo line$i; done", new ProcessOptions { Stdout = ProcessStdio.Pipe });
            var list = new List<string>();
            await foreach (byte[] line in p.Stdout!)
            {
                list.Add(Encoding.UTF8.GetString(line).TrimEnd('\n'));
            }
            await p.WaitAsync();
            return list;
        });
        Assert.Equal(["line1", "line2", "line3"], lines);
    }

    [Fact]
    public void Stdout_IsAnAioStreamReader_ReadUntilAndReadExactlyBehaveAsOnSockets()
    {
        Asyncio.Run(async () =>
        {
            AioProcess p = await Asyncio.CreateSubprocessShellAsync("printf 'key=value;rest'", new ProcessOptions { Stdout = ProcessStdio.Pipe });
            AioStreamReader stdout = Assert.IsType<AioStreamReader>(p.Stdout);
            Assert.Equal("key=", Encoding.UTF8.GetString(await stdout.ReadUntilAsync("="u8.ToArray())));
            Assert.Equal("value;", Encoding.UTF8.GetString(await stdout.ReadUntilAsync(";"u8.ToArray())));
            var incomplete = await Assert.ThrowsAsync<IncompleteReadError>(() => stdout.ReadExactlyAsync(100));
            Assert.Equal("rest", Encoding.UTF8.GetString(incomplete.Partial));
            Assert.True(stdout.AtEof);
            Assert.Empty(await stdout.ReadAsync());
            Assert.Equal(0, await p.WaitAsync());
        });
    }

    [Fact]
    public void Stdout_ChattyChildNotRead_TransportPausesAtTwiceTheLimit()
    {
        Asyncio.Run(async () =>
        {
            const int limit = 16 * 1024;
            AioProcess p = await Asyncio.CreateSubprocessShellAsync("head -c 1048576 /dev/zero",
                new ProcessOptions { Stdout = ProcessStdio.Pipe, Limit = limit });
            await Asyncio.Sleep(0.3);
            // Unread: the reader paused the pipe just past 2 × limit; the rest waits in the kernel (and the child).
            Assert.InRange(p.Stdout!.BufferedCount, 2 * limit, 2 * limit + 256 * 1024);
            Assert.Contains("paused", p.Stdout.ToString());
            byte[] all = await p.Stdout.ReadAsync();
            Assert.Equal(1048576, all.Length);
            Assert.Equal(0, await p.WaitAsync());
        });
    }

    [Fact]
    public void Stdin_ChildDoesNotRead_DrainWaitsThenFailsWhenTheChildExits()
    {
        Asyncio.Run(async () =>
        {
            AioProcess p = await Asyncio.CreateSubprocessExecAsync("sleep", ["30"], new ProcessOptions { Stdin = ProcessStdio.Pipe });
            AioStreamWriter stdin = Assert.IsType<AioStreamWriter>(p.Stdin);
            stdin.Write(new byte[1024 * 1024]);   // the pipe takes 64 KiB; the rest stays buffered, over the high-water mark
            Assert.True(stdin.Transport.GetWriteBufferSize() > 64 * 1024);
            AioTask drain = Asyncio.CreateTask(() => stdin.DrainAsync(), "drain");
            await Asyncio.Sleep(0.2);
            Assert.False(drain.Done);             // back-pressure: the child does not read
            p.Kill();
            await p.WaitAsync();
            var e = await Assert.ThrowsAsync<IOException>(() => Asyncio.FailAfter(10, async () => await drain));
            Assert.Contains("Broken pipe", e.Message);
            Assert.True(stdin.IsClosing);
            await Assert.ThrowsAsync<IOException>(() => stdin.DrainAsync());   // and every later drain
        });
    }

    [Fact]
    public void Stdin_WriteEof_ChildReadsEofAndStdinCloses()
    {
        string output = Asyncio.Run(async () =>
        {
            AioProcess p = await Asyncio.CreateSubprocessExecAsync("cat", null, Pipes);
            p.Stdin!.Write("one\ntwo\n"u8);
            await p.Stdin.DrainAsync();
            p.Stdin.WriteEof();
            await p.Stdin.WaitClosedAsync();
            byte[] o = await p.Stdout!.ReadAsync();
            await p.WaitAsync();
            return Encoding.UTF8.GetString(o);
        });
        Assert.Equal("one\ntwo\n", output);
    }

    [Fact]
    public void ToString_RunningAndExited_DescribesPidAndState()
    {
        Asyncio.Run(async () =>
        {
            AioProcess p = await Asyncio.CreateSubprocessExecAsync("sleep", ["30"]);
            Assert.Equal($"<AioProcess {p.Pid} sleep running>", p.ToString());
            p.Kill();
            await p.WaitAsync();
            Assert.Equal($"<AioProcess {p.Pid} sleep returncode=-9>", p.ToString());
        });
    }
}
