using Aio.Examples.JobsApi;
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
    public void Step4_ThreeQueriesOfTheLocalJobsApi_TakeOneDelayAndAreFlattenedInOrder()
    {
        // Real sockets, Aio.Http's server and ClientSession, on virtual time: the API's delay is a loop sleep, so the
        // three overlapping requests take exactly one delay of loop time however loaded the machine is.
        var loop = new EventLoop(new VirtualClock { ForeignWaitThreshold = 2 });
        var output = new StringWriter();
        (List<Job> jobs, double seconds) result = AioTest.RunOn(loop, () => Step4Http.SearchJobs(api: null, output));
        Assert.Equal(JobsApiServer.DefaultDelay, result.seconds);
        Assert.Equal(180, result.jobs.Count);
        Assert.Equal(["python", "csharp", "go"], result.jobs.Select(j => j.Technology).Distinct());   // gathered in argument order, flattened
        string[] lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Matches(@"^  local jobs API on http://127\.0\.0\.1:\d+ \(each answer takes 1\.0 s\)$", lines[0]);
        Assert.Equal(
            [
                "  python   60 postings in 1.00 s",
                "  csharp   60 postings in 1.00 s",
                "  go       60 postings in 1.00 s",
                "  the three together: 1.00 s, about as long as the slowest (1.00 s), not their sum (3.00 s)",
            ],
            lines.Skip(1));
    }
}
