using Aio.Examples.Tutorial;
using Aio.Testing;

namespace Aio.Tests.Examples;

/// <summary>The tour's programs themselves, run under test: the seed programs on virtual time, the HTTP step for real.</summary>
public sealed class TutorialTests
{
    [Fact]
    public void Step1_Greet_ReturnsGreeting()
    {
        Assert.Equal("Hello, Aio!", AioTest.Run(() => Step1Greet.Greet("Aio")));
    }

    [Fact]
    public void Step2_FiveSleepsOneByOne_TakeFiveSecondsOfLoopTime()
    {
        Assert.Equal(5.0, AioTest.Run(Step2Sequential.FiveSleepsOneByOne), 6);
    }

    [Fact]
    public void Step3_FiveSleepsTogether_TakeOneSecondOfLoopTime()
    {
        Assert.Equal(1.0, AioTest.Run(Step3Together.FiveSleepsTogether), 6);
    }

    [Fact]
    public void Step4_ThreeRequestsTogether_TakeAboutOneLatencyNotThree()
    {
        // Real sockets and HttpClient: real time is the point here, with a generous bound.
        double seconds = AioTest.Run(Step4Http.ThreeRequestsTogether, virtualTime: false);
        Assert.InRange(seconds, LocalWebServer.Latency, 2.5 * LocalWebServer.Latency);
    }
}
