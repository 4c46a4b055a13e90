using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Aio.Tests.Net;

/// <summary>Runs alone: it lowers the process's open-file limit for a moment.</summary>
[CollectionDefinition(nameof(ProcessLimitsCollection), DisableParallelization = true)]
public sealed class ProcessLimitsCollection
{
}

/// <summary>
/// A real EMFILE on accept: the process runs out of descriptors while connections wait in the backlog. The
/// epoll server must report it, back off (no busy loop on the level-triggered listening socket), keep
/// serving, and accept the waiting connections once descriptors are available again.
/// </summary>
[Collection(nameof(ProcessLimitsCollection))]
public class RealEmfileTests
{
    private const int RLIMIT_NOFILE = 7;

    [StructLayout(LayoutKind.Sequential)]
    private struct RLimit
    {
        public ulong Current;
        public ulong Max;
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int getrlimit(int resource, out RLimit limit);

    [DllImport("libc", SetLastError = true)]
    private static extern int setrlimit(int resource, ref RLimit limit);

    private static int OpenDescriptors() => Directory.GetFileSystemEntries("/proc/self/fd").Length;

    [Fact]
    public void Accept_RealEmfile_BacksOff_ThenAcceptsTheWaitingConnections()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;   // the epoll back end and /proc exist on Linux only; the portable path is covered by the injected-fault test
        }
        var errors = new List<ExceptionContext>();
        NetTest.Run("epoll", async loop =>
        {
            int served = 0;
            await using Server server = await loop.CreateServerAsync(() => { served++; return new RecordingProtocol(); }, "127.0.0.1", 0);
            server.AcceptRetryDelay = 0.2;
            // Warm up every path the low-limit window runs (an accept, the exception handler, the asserts):
            // with no descriptor left the runtime cannot even open an assembly file to JIT a new method.
            using (var warm = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
            {
                warm.Connect(server.Sockets[0]);
                await NetTest.Until(() => served == 1, 5, "warm-up accept");
            }
            await NetTest.Until(() => server.ActiveConnections == 0, 5, "warm-up connection closed (its descriptor freed)");
            loop.CallExceptionHandler(new ExceptionContext { Message = "warm-up", Exception = new SocketException((int)SocketError.TooManyOpenSockets) });
            errors.Clear();
            Assert.InRange(served, 1, 5);
            _ = new SocketException((int)SocketError.TooManyOpenSockets).Message;
            served = 0;
            var clients = new List<Socket>();
            const int Clients = 20;
            for (int i = 0; i < Clients; i++)
            {
                clients.Add(new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp));
            }
            // Descriptors of earlier tests still waiting for their finalizers would be freed during the window.
            GC.Collect();
            GC.WaitForPendingFinalizers();
            Assert.Equal(0, getrlimit(RLIMIT_NOFILE, out RLimit saved));
            try
            {
                // No descriptor left: the next accept4 fails with EMFILE. (Connecting needs none: the sockets exist.)
                var tight = new RLimit { Current = (ulong)OpenDescriptors() - 1, Max = saved.Max };
                Assert.Equal(0, setrlimit(RLIMIT_NOFILE, ref tight));
                foreach (Socket c in clients)
                {
                    c.Connect(server.Sockets[0]);   // completes in the kernel's backlog
                }
                await Asyncio.Sleep(0.5);
                // A few reports in 0.5 s (one per 0.2 s back-off, plus one per descriptor the runtime happened to
                // free meanwhile, which lets one accept through) – a spinning loop would make tens of thousands.
                // The bound is: one report per back-off period (at most 3 in 0.5 s) plus one per accept that got
                // through (other threads of the process close descriptors at times, and each one freed lets an
                // accept through and is used up again).
                int errorsSoFar = server.AcceptErrors;
                int servedSoFar = served;
                Assert.InRange(errorsSoFar, 1, 4 + servedSoFar);
                Assert.True(servedSoFar < Clients, "every connection was accepted although no descriptor was free");
            }
            finally
            {
                Assert.Equal(0, setrlimit(RLIMIT_NOFILE, ref saved));
            }
            await NetTest.Until(() => served == Clients, 5, "the waiting connections accepted after the back-off");
            foreach (Socket c in clients)
            {
                c.Dispose();
            }
        }, errors: errors);
        Assert.NotEmpty(errors);
        Assert.All(errors, e => Assert.Contains("TooManyOpenSockets", e.Message));
    }
}
