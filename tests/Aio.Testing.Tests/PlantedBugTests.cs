using System.Diagnostics;
using Xunit.Abstractions;

namespace Aio.Testing.Tests;

/// <summary>Proof that the explorer finds bugs: each planted bug is found within 1,000 seeds; its fix passes 10,000.</summary>
public sealed class PlantedBugTests(ITestOutputHelper output)
{
    public static TheoryData<string> Bugs => ["CheckThenAct", "LostWakeup", "PoolLeakOnReset", "RetryDoublesRequest", "CacheStampede"];

    /// <summary>How each bug shows: a broken invariant, or a hang (the waiter nobody wakes, the slot nobody returns).</summary>
    private static SimulationFailureKind Symptom(string name) => name is "LostWakeup" or "PoolLeakOnReset" ? SimulationFailureKind.Hang : SimulationFailureKind.Invariant;

    private static PlantedBugs.Planted Make(string name, bool fixedVersion) => name switch
    {
        "CheckThenAct" => PlantedBugs.CheckThenAct(fixedVersion),
        "LostWakeup" => PlantedBugs.LostWakeup(fixedVersion),
        "PoolLeakOnReset" => PlantedBugs.PoolLeakOnReset(fixedVersion),
        "RetryDoublesRequest" => PlantedBugs.RetryDoublesRequest(fixedVersion),
        "CacheStampede" => PlantedBugs.CacheStampede(fixedVersion),
        _ => throw new ArgumentException(name),
    };

    [Theory]
    [MemberData(nameof(Bugs))]
    public void Explore_PlantedBug_FoundWithin1000Seeds_AndReplays(string bug)
    {
        PlantedBugs.Planted planted = Make(bug, fixedVersion: false);
        ExploreResult result = Simulation.Explore(Enumerable.Range(1, 1000), planted.Program, planted.Invariant, planted.Options);
        Assert.NotNull(result.Failure);
        output.WriteLine($"{bug}: found after {result.SeedsRun} seed(s) in {result.Elapsed.TotalMilliseconds:0} ms");
        output.WriteLine(result.Failure.Describe(30));
        Assert.Equal(Symptom(bug), result.Failure.Kind);
        // The failure replays exactly: same kind, same trace.
        var replay = Assert.Throws<SimulationFailureException>(() => Simulation.Replay(result.Failure, planted.Program, planted.Invariant));
        Assert.Equal(result.Failure.Kind, replay.Failure.Kind);
        Assert.Equal(result.Failure.Trace, replay.Failure.Trace);
    }

    [Theory]
    [MemberData(nameof(Bugs))]
    public void Explore_FixedVersion_Passes10000Seeds(string bug)
    {
        // Each seed is a run of its own, so the 10,000 are split over the cores (seed % parts), each part with its own
        // copy of the program's state and each run on its own thread's loop: the same seeds, in a fraction of the
        // wall time (one class's tests run one at a time, and this one was most of its project's time).
        int parts = Math.Max(2, Environment.ProcessorCount);
        var results = new ExploreResult[parts];
        var clock = Stopwatch.StartNew();
        TimeSpan cpu = Process.GetCurrentProcess().TotalProcessorTime;
        Parallel.For(0, parts, new ParallelOptions { MaxDegreeOfParallelism = parts }, part =>
        {
            PlantedBugs.Planted planted = Make(bug, fixedVersion: true);
            results[part] = Simulation.Explore(Enumerable.Range(1, 10_000).Where(seed => seed % parts == part), planted.Program, planted.Invariant, planted.Options);
        });
        cpu = Process.GetCurrentProcess().TotalProcessorTime - cpu;
        output.WriteLine($"{bug} (fixed): {results.Sum(r => r.SeedsRun)} seeds in {parts} parts in {clock.ElapsedMilliseconds} ms ({cpu.TotalMilliseconds:0} ms CPU of the process)");
        Assert.Equal([], results.Where(r => r.Failure is not null).Select(r => r.Failure!.Describe()));
        Assert.Equal(10_000, results.Sum(r => r.SeedsRun));
    }
}
