using Aio.Polling;

namespace Aio.Tests.Polling;

/// <summary>What is particular to the portable back end (the shared contract is in <see cref="PollerTests"/>).</summary>
public sealed class PortablePollerTests
{
    [Fact]
    public void ReadinessMembers_Always_ThrowNotSupportedPointingAtAsyncSockets()
    {
        using IPoller poller = PollingTestSupport.Create(PollerFactory.Portable);
        using SocketPair pair = SocketPair.Connect();

        var error = Assert.Throws<NotSupportedException>(
            () => poller.Register(pair.Server.SafeHandle, IoEvents.Read, new RecordingHandler("h")));
        Assert.Contains("the portable poller has no readiness registrations; sockets on it use .NET's async socket methods", error.Message, StringComparison.Ordinal);
        Assert.Throws<NotSupportedException>(() => poller.Modify(pair.Server.SafeHandle, IoEvents.Read));
        Assert.Throws<NotSupportedException>(() => poller.Unregister(pair.Server.SafeHandle));
    }
}
