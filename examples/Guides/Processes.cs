using System.Text;
using Aio;
using Aio.Net;
using Aio.Os;
using static Aio.Asyncio;

namespace Aio.Examples.Guides;

/// <summary>docs/processes.md: a child's output, pipes with back-pressure, a child bound to its scope (Linux).</summary>
public static class ProcessesGuide
{
    public static void Run()
    {
        if (!OperatingSystem.IsLinux())
        {
            Console.WriteLine("subprocesses: Linux only");
            return;
        }
        Console.WriteLine($"sorted first: {Asyncio.Run(() => SortAsync(["pear", "apple", "zucchini"]))}");
        Console.WriteLine($"finished before the deadline: {Asyncio.Run(RunWithDeadlineAsync)}");
    }

    public static async Task<string> GitHeadAsync()
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

    public static async Task<string> SortAsync(IEnumerable<string> lines)
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

    public static async Task<bool> RunWithDeadlineAsync()
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
}
