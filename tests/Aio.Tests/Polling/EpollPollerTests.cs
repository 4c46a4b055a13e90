using System.Diagnostics;
using System.Runtime.InteropServices;
using Aio.Polling;
using Aio.Polling.Interop;

namespace Aio.Tests.Polling;

/// <summary>Readiness registrations, which only the epoll back end has.</summary>
public sealed class EpollPollerTests
{
    private const int Generous = 2000; // ms: a Poll that must see an event already pending

    [LinuxFact]
    public void Register_ReadableSocket_CallsHandlerWithRead()
    {
        using IPoller poller = PollingTestSupport.Create(PollerFactory.Epoll);
        using SocketPair pair = SocketPair.Connect().WithDataForServer();
        var handler = new RecordingHandler("server");
        poller.Register(pair.Server.SafeHandle, IoEvents.Read, handler);

        int called = poller.Poll(Generous);

        Assert.Equal(1, called);
        Assert.Equal([IoEvents.Read], handler.Calls);
        Assert.Equal(1, poller.RegistrationCount);
    }

    [LinuxFact]
    public void Register_ReadableSocket_IsReportedAgainUntilRead()
    {
        using IPoller poller = PollingTestSupport.Create(PollerFactory.Epoll);
        using SocketPair pair = SocketPair.Connect().WithDataForServer();
        var handler = new RecordingHandler("server");
        poller.Register(pair.Server.SafeHandle, IoEvents.Read, handler);

        poller.Poll(Generous);
        poller.Poll(Generous);
        pair.Server.Receive(new byte[16]);
        int afterRead = poller.Poll(50);

        Assert.Equal([IoEvents.Read, IoEvents.Read], handler.Calls);
        Assert.Equal(0, afterRead);
    }

    [LinuxFact]
    public void Register_NothingReady_DoesNotCallHandler()
    {
        using IPoller poller = PollingTestSupport.Create(PollerFactory.Epoll);
        using SocketPair pair = SocketPair.Connect();
        var handler = new RecordingHandler("server");
        poller.Register(pair.Server.SafeHandle, IoEvents.Read, handler);

        Assert.Equal(0, poller.Poll(50));
        Assert.Empty(handler.Calls);
    }

    [LinuxFact]
    public void Register_WritableSocket_CallsHandlerWithWrite()
    {
        using IPoller poller = PollingTestSupport.Create(PollerFactory.Epoll);
        using SocketPair pair = SocketPair.Connect();
        var handler = new RecordingHandler("client");
        poller.Register(pair.Client.SafeHandle, IoEvents.Read | IoEvents.Write, handler);

        Assert.Equal(1, poller.Poll(Generous));
        Assert.Equal([IoEvents.Write], handler.Calls);
    }

    [LinuxFact]
    public void Register_PeerResets_ReportsReadErrorAndHangUp()
    {
        using IPoller poller = PollingTestSupport.Create(PollerFactory.Epoll);
        using SocketPair pair = SocketPair.Connect();
        var handler = new RecordingHandler("server");
        poller.Register(pair.Server.SafeHandle, IoEvents.Read, handler);
        pair.ResetFromClient();

        Assert.Equal(1, poller.Poll(Generous));
        Assert.Equal([IoEvents.Read | IoEvents.Error | IoEvents.HangUp], handler.Calls);
    }

    [LinuxFact]
    public void Poll_ManyReadySockets_CallsEachHandlerOnceWithItsOwnEvents()
    {
        // Checks the epoll_event layout: with the wrong size or data offset, every event after
        // the first in a batch would carry garbage and reach no handler, or the wrong one.
        using IPoller poller = PollingTestSupport.Create(PollerFactory.Epoll);
        var pairs = Enumerable.Range(0, 6).Select(_ => SocketPair.Connect()).ToList();
        try
        {
            var handlers = new List<RecordingHandler>();
            for (int i = 0; i < pairs.Count; i++)
            {
                bool reader = i % 2 == 0;
                if (reader)
                {
                    pairs[i].WithDataForServer();
                }

                var handler = new RecordingHandler($"pair{i}");
                handlers.Add(handler);
                poller.Register(pairs[i].Server.SafeHandle, reader ? IoEvents.Read : IoEvents.Write, handler);
            }

            Assert.Equal(pairs.Count, poller.Poll(Generous));
            for (int i = 0; i < handlers.Count; i++)
            {
                Assert.Equal([i % 2 == 0 ? IoEvents.Read : IoEvents.Write], handlers[i].Calls);
            }
        }
        finally
        {
            pairs.ForEach(p => p.Dispose());
        }
    }

    [LinuxFact]
    public void Register_SameDescriptorTwice_Throws()
    {
        using IPoller poller = PollingTestSupport.Create(PollerFactory.Epoll);
        using SocketPair pair = SocketPair.Connect();
        poller.Register(pair.Server.SafeHandle, IoEvents.Read, new RecordingHandler("first"));

        var error = Assert.Throws<InvalidOperationException>(
            () => poller.Register(pair.Server.SafeHandle, IoEvents.Write, new RecordingHandler("second")));
        Assert.Contains("already registered", error.Message, StringComparison.Ordinal);
        Assert.Equal(1, poller.RegistrationCount);
    }

    [LinuxFact]
    public void Register_ErrorOrHangUpInInterest_Throws()
    {
        using IPoller poller = PollingTestSupport.Create(PollerFactory.Epoll);
        using SocketPair pair = SocketPair.Connect();

        Assert.Throws<ArgumentOutOfRangeException>(
            () => poller.Register(pair.Server.SafeHandle, IoEvents.Read | IoEvents.HangUp, new RecordingHandler("h")));
        Assert.Equal(0, poller.RegistrationCount);
    }

    [LinuxFact]
    public void Register_ClosedHandle_Throws()
    {
        using IPoller poller = PollingTestSupport.Create(PollerFactory.Epoll);
        SocketPair pair = SocketPair.Connect();
        SafeHandle handle = pair.Server.SafeHandle;
        pair.Dispose();

        Assert.Throws<ArgumentException>(() => poller.Register(handle, IoEvents.Read, new RecordingHandler("h")));
    }

    [LinuxFact]
    public void Register_NoneInterest_KeepsItRegisteredButSilent()
    {
        using IPoller poller = PollingTestSupport.Create(PollerFactory.Epoll);
        using SocketPair pair = SocketPair.Connect().WithDataForServer();
        var handler = new RecordingHandler("server");

        poller.Register(pair.Server.SafeHandle, IoEvents.None, handler);

        Assert.Equal(0, poller.Poll(50));
        Assert.Equal(1, poller.RegistrationCount);
        Assert.Empty(handler.Calls);
    }

    [LinuxFact]
    public void Modify_ToNone_SilencesThenRestores()
    {
        using IPoller poller = PollingTestSupport.Create(PollerFactory.Epoll);
        using SocketPair pair = SocketPair.Connect().WithDataForServer();
        var handler = new RecordingHandler("server");
        poller.Register(pair.Server.SafeHandle, IoEvents.Read, handler);

        poller.Modify(pair.Server.SafeHandle, IoEvents.None);
        int whileSilent = poller.Poll(50);
        poller.Modify(pair.Server.SafeHandle, IoEvents.Read);
        int afterRestore = poller.Poll(Generous);

        Assert.Equal(0, whileSilent);
        Assert.Equal(1, afterRestore);
        Assert.Equal([IoEvents.Read], handler.Calls);
        Assert.Equal(1, poller.RegistrationCount);
    }

    [LinuxFact]
    public void Modify_ToNone_SilencesEvenAHungUpSocket()
    {
        // The kernel reports EPOLLHUP/EPOLLERR even for an empty event mask; a paused transport
        // on a reset socket must not make the loop spin.
        using IPoller poller = PollingTestSupport.Create(PollerFactory.Epoll);
        using SocketPair pair = SocketPair.Connect();
        var handler = new RecordingHandler("server");
        poller.Register(pair.Server.SafeHandle, IoEvents.Read, handler);
        poller.Modify(pair.Server.SafeHandle, IoEvents.None);
        pair.ResetFromClient();
        var watch = Stopwatch.StartNew();

        Assert.Equal(0, poller.Poll(100));
        Assert.True(watch.ElapsedMilliseconds >= 90, $"Poll(100) returned after {watch.ElapsedMilliseconds} ms: the hung-up socket still wakes it");
        Assert.Empty(handler.Calls);
    }

    [LinuxFact]
    public void Modify_ReadToWrite_ReportsOnlyWrite()
    {
        using IPoller poller = PollingTestSupport.Create(PollerFactory.Epoll);
        using SocketPair pair = SocketPair.Connect().WithDataForServer();
        var handler = new RecordingHandler("server");
        poller.Register(pair.Server.SafeHandle, IoEvents.Read, handler);

        poller.Modify(pair.Server.SafeHandle, IoEvents.Write);

        Assert.Equal(1, poller.Poll(Generous));
        Assert.Equal([IoEvents.Write], handler.Calls);
    }

    [LinuxFact]
    public void Modify_UnregisteredDescriptor_Throws()
    {
        using IPoller poller = PollingTestSupport.Create(PollerFactory.Epoll);
        using SocketPair pair = SocketPair.Connect();

        var error = Assert.Throws<InvalidOperationException>(() => poller.Modify(pair.Server.SafeHandle, IoEvents.Read));
        Assert.Contains("call Register", error.Message, StringComparison.Ordinal);
    }

    [LinuxFact]
    public void Unregister_StopsEventsAndFreesTheDescriptor()
    {
        using IPoller poller = PollingTestSupport.Create(PollerFactory.Epoll);
        using SocketPair pair = SocketPair.Connect().WithDataForServer();
        var first = new RecordingHandler("first");
        var second = new RecordingHandler("second");
        poller.Register(pair.Server.SafeHandle, IoEvents.Read, first);

        poller.Unregister(pair.Server.SafeHandle);
        int afterUnregister = poller.Poll(50);
        poller.Register(pair.Server.SafeHandle, IoEvents.Read, second);
        poller.Poll(Generous);

        Assert.Equal(0, afterUnregister);
        Assert.Empty(first.Calls);
        Assert.Equal([IoEvents.Read], second.Calls);
    }

    [LinuxFact]
    public void Unregister_UnknownDescriptor_IsIgnored()
    {
        using IPoller poller = PollingTestSupport.Create(PollerFactory.Epoll);
        using SocketPair pair = SocketPair.Connect();

        poller.Unregister(pair.Server.SafeHandle);

        Assert.Equal(0, poller.RegistrationCount);
    }

    [LinuxFact]
    public void Unregister_AfterTheHandleWasClosed_ForgetsTheDescriptor()
    {
        using IPoller poller = PollingTestSupport.Create(PollerFactory.Epoll);
        SocketPair pair = SocketPair.Connect();
        SafeHandle handle = pair.Server.SafeHandle;
        poller.Register(handle, IoEvents.Read, new RecordingHandler("server"));
        pair.Dispose();

        poller.Unregister(handle);

        Assert.Equal(0, poller.RegistrationCount);
    }

    [LinuxFact]
    public void Unregister_DuringDispatch_SuppressesLaterEvent()
    {
        // Both descriptors are ready in one batch; whichever handler runs first unregisters the
        // other, whose event (already collected) must then not be delivered.
        using IPoller poller = PollingTestSupport.Create(PollerFactory.Epoll);
        using SocketPair a = SocketPair.Connect().WithDataForServer();
        using SocketPair b = SocketPair.Connect().WithDataForServer();
        var handlerA = new RecordingHandler("a", _ => poller.Unregister(b.Server.SafeHandle));
        var handlerB = new RecordingHandler("b", _ => poller.Unregister(a.Server.SafeHandle));
        poller.Register(a.Server.SafeHandle, IoEvents.Read, handlerA);
        poller.Register(b.Server.SafeHandle, IoEvents.Read, handlerB);

        int called = poller.Poll(Generous);

        Assert.Equal(1, called);
        Assert.Equal(1, handlerA.Calls.Count + handlerB.Calls.Count);
        Assert.Equal(1, poller.RegistrationCount);
    }

    [LinuxFact]
    public void Reregister_DuringDispatch_NewHandlerWaitsForNextPoll()
    {
        // The event collected for the old registration of a descriptor must not reach the handler
        // of a new registration of the same descriptor made earlier in the batch.
        using IPoller poller = PollingTestSupport.Create(PollerFactory.Epoll);
        using SocketPair a = SocketPair.Connect().WithDataForServer();
        using SocketPair b = SocketPair.Connect().WithDataForServer();
        var replacement = new RecordingHandler("replacement");
        bool replaced = false;
        RecordingHandler Replacing(string name, SocketPair other) => new(name, _ =>
        {
            if (!replaced)
            {
                replaced = true;
                poller.Unregister(other.Server.SafeHandle);
                poller.Register(other.Server.SafeHandle, IoEvents.Read, replacement);
            }
        });
        var handlerA = Replacing("a", b);
        var handlerB = Replacing("b", a);
        poller.Register(a.Server.SafeHandle, IoEvents.Read, handlerA);
        poller.Register(b.Server.SafeHandle, IoEvents.Read, handlerB);

        int firstPoll = poller.Poll(Generous);
        int replacementCallsAfterFirstPoll = replacement.Calls.Count;
        poller.Poll(Generous);

        Assert.Equal(1, firstPoll);
        Assert.Equal(0, replacementCallsAfterFirstPoll);
        Assert.Equal([IoEvents.Read], replacement.Calls);
    }

    [LinuxFact]
    public void Modify_DuringDispatch_MasksLaterEvent()
    {
        using IPoller poller = PollingTestSupport.Create(PollerFactory.Epoll);
        using SocketPair a = SocketPair.Connect().WithDataForServer();
        using SocketPair b = SocketPair.Connect().WithDataForServer();
        var handlerA = new RecordingHandler("a", _ => poller.Modify(b.Server.SafeHandle, IoEvents.None));
        var handlerB = new RecordingHandler("b", _ => poller.Modify(a.Server.SafeHandle, IoEvents.None));
        poller.Register(a.Server.SafeHandle, IoEvents.Read, handlerA);
        poller.Register(b.Server.SafeHandle, IoEvents.Read, handlerB);

        Assert.Equal(1, poller.Poll(Generous));
        Assert.Equal(1, handlerA.Calls.Count + handlerB.Calls.Count);
    }

    [LinuxFact]
    public void Handler_Throws_ErrorSinkCalledAndPollContinues()
    {
        var sink = new ErrorSink();
        using IPoller poller = PollingTestSupport.Create(PollerFactory.Epoll, sink);
        using SocketPair a = SocketPair.Connect().WithDataForServer();
        using SocketPair b = SocketPair.Connect().WithDataForServer();
        var handlerA = new RecordingHandler("a", _ => throw new InvalidOperationException("boom a"));
        var handlerB = new RecordingHandler("b", _ => throw new InvalidOperationException("boom b"));
        poller.Register(a.Server.SafeHandle, IoEvents.Read, handlerA);
        poller.Register(b.Server.SafeHandle, IoEvents.Read, handlerB);

        int firstPoll = poller.Poll(Generous);
        int secondPoll = poller.Poll(Generous);

        Assert.Equal(2, firstPoll);
        Assert.Equal(2, secondPoll);
        Assert.Equal(4, sink.Errors.Count);
        Assert.All(sink.Errors, e => Assert.Equal($"boom {e.Handler}", e.Exception.Message));
        Assert.Equal(2, handlerA.Calls.Count);
        Assert.Equal(2, handlerB.Calls.Count);
    }

    [LinuxFact]
    public void Handler_DisposesThePoller_EndsTheBatchQuietly()
    {
        IPoller poller = PollingTestSupport.Create(PollerFactory.Epoll);
        using SocketPair a = SocketPair.Connect().WithDataForServer();
        using SocketPair b = SocketPair.Connect().WithDataForServer();
        poller.Register(a.Server.SafeHandle, IoEvents.Read, new RecordingHandler("a", _ => poller.Dispose()));
        poller.Register(b.Server.SafeHandle, IoEvents.Read, new RecordingHandler("b", _ => poller.Dispose()));

        Assert.Equal(1, poller.Poll(Generous));
        Assert.Equal("<EpollPoller disposed>", poller.ToString());
    }

    [LinuxFact]
    public void Poll_ReadySocket_AllocatesNothing()
    {
        using IPoller poller = PollingTestSupport.Create(PollerFactory.Epoll);
        using SocketPair pair = SocketPair.Connect().WithDataForServer();
        var handler = new CountingHandler();
        poller.Register(pair.Server.SafeHandle, IoEvents.Read, handler);
        for (int i = 0; i < 200; i++)
        {
            poller.Wake();
            poller.Poll(0);
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++)
        {
            poller.Wake();
            poller.Poll(0);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.Equal(1200, handler.Count);
    }

    [LinuxFact]
    public void Unregister_AfterDispose_IsIgnored()
    {
        IPoller poller = PollingTestSupport.Create(PollerFactory.Epoll);
        using SocketPair pair = SocketPair.Connect();
        poller.Register(pair.Server.SafeHandle, IoEvents.Read, new RecordingHandler("server"));
        poller.Dispose();

        poller.Unregister(pair.Server.SafeHandle);

        Assert.Equal(0, poller.RegistrationCount);
        Assert.Throws<ObjectDisposedException>(() => poller.Register(pair.Client.SafeHandle, IoEvents.Read, new RecordingHandler("c")));
    }

    [LinuxFact]
    public void ToString_ShowsDescriptorAndRegistrations()
    {
        using IPoller poller = PollingTestSupport.Create(PollerFactory.Epoll);
        using SocketPair pair = SocketPair.Connect();
        poller.Register(pair.Server.SafeHandle, IoEvents.Read, new RecordingHandler("server"));

        Assert.Matches(@"^<EpollPoller epfd=\d+ registrations=1>$", poller.ToString());
    }

    [Fact]
    public void EpollEvent_OnThisArchitecture_HasTheKernelLayout()
    {
        (int size, int offset) = RuntimeInformation.ProcessArchitecture switch
        {
            Architecture.X64 or Architecture.X86 => (12, 4),
            _ => (16, 8),
        };

        Assert.Equal(size, EpollEvent.Size);
        Assert.Equal(offset, EpollEvent.DataOffset);
        Assert.True(EpollEvent.MaxSize >= EpollEvent.Size);
    }

    private sealed class CountingHandler : IIoHandler
    {
        public int Count { get; private set; }

        public void OnIoReady(IoEvents events) => Count++;
    }
}
