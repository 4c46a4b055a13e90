using Aio.Polling;

namespace Aio.Tests.Polling;

/// <summary>Choosing a back end: argument, then AIO_POLLER, then the OS default.</summary>
public sealed class PollerFactoryTests
{
    private static readonly string OsDefault = OperatingSystem.IsLinux() ? PollerFactory.Epoll : PollerFactory.Portable;

    [Fact]
    public void ResolveName_NoArgumentNoEnvironment_PicksTheOsDefault()
    {
        Assert.Equal(OsDefault, PollerFactory.ResolveName(null, null));
        Assert.Equal(OsDefault, PollerFactory.ResolveName(null, ""));
    }

    [Theory]
    [InlineData("portable", "portable")]
    [InlineData("Portable", "portable")]
    [InlineData(" epoll ", "epoll")]
    public void ResolveName_NoArgument_UsesTheEnvironment(string environment, string expected)
    {
        Assert.Equal(expected, PollerFactory.ResolveName(null, environment));
    }

    [Fact]
    public void ResolveName_ArgumentAndEnvironment_ArgumentWins()
    {
        Assert.Equal(PollerFactory.Portable, PollerFactory.ResolveName("portable", "epoll"));
    }

    [Fact]
    public void ResolveName_UnknownArgument_ThrowsListingValidNames()
    {
        var error = Assert.Throws<ArgumentException>(() => PollerFactory.ResolveName("kqueue", null));

        Assert.Equal("backend", error.ParamName);
        Assert.Contains("'kqueue'", error.Message, StringComparison.Ordinal);
        Assert.Contains("'epoll' (Linux only) and 'portable'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ResolveName_UnknownEnvironmentValue_ThrowsNamingTheVariable()
    {
        var error = Assert.Throws<ArgumentException>(() => PollerFactory.ResolveName(null, "iouring"));

        Assert.Contains("AIO_POLLER", error.Message, StringComparison.Ordinal);
        Assert.Contains("'iouring'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ResolveName_EmptyArgument_Throws()
    {
        Assert.Throws<ArgumentException>(() => PollerFactory.ResolveName("", null));
    }

    [Theory]
    [MemberData(nameof(PollerTests.BackEnds), MemberType = typeof(PollerTests))]
    public void Create_ByName_ReturnsThatBackEnd(string backend)
    {
        using IPoller poller = PollerFactory.Create((_, _) => { }, backend);

        Assert.Equal(backend, poller.Name);
    }

    [Fact]
    public void Create_UnknownName_ThrowsArgumentException()
    {
        Assert.Throws<ArgumentException>(() => PollerFactory.Create((_, _) => { }, "select"));
    }
}
