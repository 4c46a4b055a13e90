using System.Collections.Concurrent;
using System.Diagnostics;
using Aio.Polling;
using Xunit.Abstractions;

namespace Aio.Tests.Polling;

/// <summary>The <see cref="IPoller"/> contract, over every back end of this OS.</summary>
/// <remarks>Runs in a non-parallel collection: one test counts the process's write system calls.</remarks>
[Collection(ProcessWideMeasurements.Name)]
public sealed class PollerTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(2);

    public static TheoryData<string> BackEnds => PollingTestSupport.BackEnds;

    [Theory]
    [MemberData(nameof(BackEnds))]
    public void Poll_WithTimeoutAndNothingReady_ReturnsAfterTimeout(string backend)
    {
        using IPoller poller = PollingTestSupport.Create(backend);
        var watch = Stopwatch.StartNew();

        int called = poller.Poll(100);

        Assert.Equal(0, called);
        Assert.InRange(watch.Elapsed, TimeSpan.FromMilliseconds(90), Generous);
    }

    [Theory]
    [MemberData(nameof(BackEnds))]
    public void Poll_ZeroTimeoutAndNothingReady_ReturnsAtOnce(string backend)
    {
        using IPoller poller = PollingTestSupport.Create(backend);
        var watch = Stopwatch.StartNew();

        Assert.Equal(0, poller.Poll(0));
        Assert.True(watch.Elapsed < Generous, $"Poll(0) took {watch.Elapsed}");
    }

    [Theory]
    [MemberData(nameof(BackEnds))]
    public void Poll_TimeoutBelowMinusOne_Throws(string backend)
    {
        using IPoller poller = PollingTestSupport.Create(backend);

        Assert.Throws<ArgumentOutOfRangeException>(() => poller.Poll(-2));
    }

    [Theory]
    [MemberData(nameof(BackEnds))]
    public void Wake_BeforePoll_MakesNextPollReturnAtOnce(string backend)
    {
        using IPoller poller = PollingTestSupport.Create(backend);
        poller.Wake();
        var watch = Stopwatch.StartNew();

        Assert.Equal(0, poller.Poll(30_000));
        Assert.True(watch.Elapsed < Generous, $"a pending wake should end Poll at once; it took {watch.Elapsed}");
    }

    [Theory]
    [MemberData(nameof(BackEnds))]
    public void Wake_Repeated_IsConsumedByOnePoll(string backend)
    {
        using IPoller poller = PollingTestSupport.Create(backend);
        for (int i = 0; i < 1000; i++)
        {
            poller.Wake();
        }

        poller.Poll(30_000);
        var watch = Stopwatch.StartNew();
        poller.Poll(100);

        Assert.InRange(watch.Elapsed, TimeSpan.FromMilliseconds(90), Generous);
    }

    [Theory]
    [MemberData(nameof(BackEnds))]
    public void Wake_FromAnotherThread_InterruptsBlockedPoll(string backend)
    {
        using IPoller poller = PollingTestSupport.Create(backend);
        using var started = new ManualResetEventSlim();
        int nativeThreadId = 0;
        TimeSpan blockedFor = TimeSpan.Zero;
        var thread = new Thread(() =>
        {
            nativeThreadId = CurrentNativeThreadId();
            started.Set();
            var watch = Stopwatch.StartNew();
            poller.Poll(30_000);
            blockedFor = watch.Elapsed;
        }) { IsBackground = true };
        thread.Start();
        Assert.True(started.Wait(Generous));
        WaitUntilAsleep(nativeThreadId);

        poller.Wake();

        bool returned = thread.Join(Generous);
        if (!returned)
        {
            poller.Wake(); // do not dispose the poller under a thread still blocked in it
            thread.Join();
        }

        Assert.True(returned, "Poll(30 s) did not return within 2 s of Wake()");
        Assert.True(blockedFor < TimeSpan.FromSeconds(20));
    }

    [Theory]
    [MemberData(nameof(BackEnds))]
    public void Wake_ManyThreads_CoalescesAndNeverLosesAWake(string backend)
    {
        // A miniature loop, shaped like EventLoop's: posters enqueue then Wake; each iteration the
        // loop takes what is in the inbox, then polls with timeout 0 if more is queued, else with
        // no real deadline. A lost wake would leave Poll blocked its full 10 s with work queued.
        // Posters pause every few posts, so the loop also blocks in Poll and is woken mid-wait.
        const int Threads = 4;
        const int PostsPerThread = 100_000;
        const int Total = Threads * PostsPerThread;
        using IPoller poller = PollingTestSupport.Create(backend);
        var inbox = new ConcurrentQueue<int>();
        using var go = new ManualResetEventSlim();
        var posters = new Thread[Threads];
        for (int t = 0; t < Threads; t++)
        {
            posters[t] = new Thread(() =>
            {
                go.Wait();
                for (int i = 0; i < PostsPerThread; i++)
                {
                    inbox.Enqueue(i);
                    poller.Wake();
                    if (i % 256 == 0)
                    {
                        Thread.Yield();
                    }
                }
            }) { IsBackground = true };
            posters[t].Start();
        }

        long writesBefore = WriteSyscallsOfThisProcess();
        go.Set();
        int received = 0;
        int polls = 0;
        int blockingPolls = 0;
        var slowest = TimeSpan.Zero;
        while (received < Total)
        {
            for (int n = inbox.Count; n > 0 && inbox.TryDequeue(out _); n--)
            {
                received++;
            }

            if (received == Total)
            {
                break;
            }

            int timeout = inbox.IsEmpty ? 10_000 : 0;
            var watch = Stopwatch.StartNew();
            poller.Poll(timeout);
            polls++;
            blockingPolls += timeout == 0 ? 0 : 1;
            slowest = watch.Elapsed > slowest ? watch.Elapsed : slowest;
            Assert.True(
                watch.Elapsed < TimeSpan.FromSeconds(9),
                $"a wake was lost: Poll blocked {watch.Elapsed} with {Total - received} posts outstanding");
        }

        long writes = WriteSyscallsOfThisProcess() - writesBefore;
        foreach (Thread poster in posters)
        {
            Assert.True(poster.Join(Generous));
        }

        output.WriteLine($"{backend}: {Total} wakes, {polls} polls ({blockingPolls} blocking), {writes} write system calls, slowest poll {slowest}");
        Assert.Equal(Total, received);
        if (backend == PollerFactory.Epoll && writesBefore >= 0)
        {
            // Uncoalesced, this would be 400,000 writes; coalesced, at most one per drain of the
            // eventfd, so one per poll (and one left pending at the end). The slack is for the rest
            // of the process (test runner output); this class runs alone for that reason.
            Assert.True(writes <= polls + 100, $"{writes} write system calls for {Total} wakes and {polls} polls");
        }
    }

    [Theory]
    [MemberData(nameof(BackEnds))]
    public void Poll_SteadyState_AllocatesNothing(string backend)
    {
        using IPoller poller = PollingTestSupport.Create(backend);
        for (int i = 0; i < 200; i++)
        {
            poller.Wake();
            poller.Poll(0);
            poller.Poll(0);
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++)
        {
            poller.Wake();
            poller.Poll(0);
            poller.Poll(0);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Theory]
    [MemberData(nameof(BackEnds))]
    public void Dispose_Twice_IsHarmless(string backend)
    {
        IPoller poller = PollingTestSupport.Create(backend);

        poller.Dispose();
        poller.Dispose();
    }

    [Theory]
    [MemberData(nameof(BackEnds))]
    public void Wake_AfterDispose_DoesNothing(string backend)
    {
        IPoller poller = PollingTestSupport.Create(backend);
        poller.Dispose();

        poller.Wake();
        poller.Wake();
    }

    [Theory]
    [MemberData(nameof(BackEnds))]
    public void Poll_AfterDispose_ThrowsObjectDisposed(string backend)
    {
        IPoller poller = PollingTestSupport.Create(backend);
        poller.Dispose();

        var error = Assert.Throws<ObjectDisposedException>(() => poller.Poll(0));
        Assert.Contains("create a new EventLoop", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(BackEnds))]
    public void Name_IsTheBackEndName(string backend)
    {
        using IPoller poller = PollingTestSupport.Create(backend);

        Assert.Equal(backend, poller.Name);
        Assert.Equal(backend == PollerFactory.Epoll, poller.SupportsReadiness);
        Assert.Equal(0, poller.RegistrationCount);
    }

    [Theory]
    [MemberData(nameof(BackEnds))]
    public void ToString_NamesTheTypeAndDisposal(string backend)
    {
        IPoller poller = PollingTestSupport.Create(backend);
        string typeName = poller.GetType().Name;

        Assert.StartsWith($"<{typeName} ", poller.ToString(), StringComparison.Ordinal);
        poller.Dispose();
        Assert.Equal($"<{typeName} disposed>", poller.ToString());
    }

    /// <summary>The kernel's id of the calling thread, from /proc (0 where /proc is missing).</summary>
    private static int CurrentNativeThreadId()
    {
        // /proc/thread-self links to "<pid>/task/<tid>".
        string? target = OperatingSystem.IsLinux() ? new FileInfo("/proc/thread-self").LinkTarget : null;
        return target is not null && int.TryParse(Path.GetFileName(target), out int tid) ? tid : 0;
    }

    /// <summary>Best effort, bounded: waits until the thread sleeps in the kernel (blocked in Poll).</summary>
    private static void WaitUntilAsleep(int nativeThreadId)
    {
        string path = $"/proc/self/task/{nativeThreadId}/stat";
        if (nativeThreadId == 0 || !File.Exists(path))
        {
            return;
        }

        var watch = Stopwatch.StartNew();
        var spinner = default(SpinWait);
        while (watch.Elapsed < Generous)
        {
            string stat = File.ReadAllText(path);
            char state = stat[stat.LastIndexOf(')') + 2]; // "tid (comm) S ..."
            if (state == 'S')
            {
                return;
            }

            spinner.SpinOnce();
        }
    }

    /// <summary>The process's write-family system calls so far (/proc/self/io syscw), or -1.</summary>
    private static long WriteSyscallsOfThisProcess()
    {
        if (!File.Exists("/proc/self/io"))
        {
            return -1;
        }

        foreach (string line in File.ReadLines("/proc/self/io"))
        {
            if (line.StartsWith("syscw:", StringComparison.Ordinal))
            {
                return long.Parse(line.AsSpan(6).Trim(), System.Globalization.CultureInfo.InvariantCulture);
            }
        }

        return -1;
    }
}
