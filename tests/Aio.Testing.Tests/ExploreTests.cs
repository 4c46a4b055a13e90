using System.Text;

namespace Aio.Testing.Tests;

/// <summary>What Explore detects (exceptions, hangs, leaked tasks, errors nobody saw, failed invariants), how it shrinks, and Replay.</summary>
public sealed class ExploreTests
{
    private static readonly SimulationOptions Quiet = SimulationOptions.Default;

    /// <summary>A client talks to a server whose reply takes a seeded time; the seed decides whether the client's 5 ms timeout fires.</summary>
    private static async Task RacyProgram(Simulation sim)
    {
        await using Aio.Net.Server server = await PlantedBugs.ServeLinesAsync(sim, "server", 7000, async q =>
        {
            await Sleep(sim.NextDouble() * 0.01);
            return "ok";
        });
        await FailAfter(0.006, () => PlantedBugs.RequestAsync("server", 7000, "hi"));
    }

    [Fact]
    public void Explore_ProgramThrows_ReportsTheSeedAndTheException()
    {
        ExploreResult result = Simulation.Explore(Enumerable.Range(1, 100), RacyProgram);
        Assert.NotNull(result.Failure);
        Assert.Equal(SimulationFailureKind.Exception, result.Failure.Kind);
        Assert.IsType<TimeoutException>(result.Failure.Exception);
        Assert.Equal(result.SeedsRun, result.Failure.Seed);   // seeds 1..n: the last one run failed
        // Every seed before it passes on its own; the failing one fails again on its own.
        for (int seed = 1; seed < result.Failure.Seed; seed++)
        {
            Simulation.Run(seed, RacyProgram);
        }
        Assert.Throws<SimulationFailureException>(() => Simulation.Replay(result.Failure.Seed, RacyProgram));
    }

    [Fact]
    public void Explore_Hang_ReportedWithTheWaitingTasks()
    {
        // A reply that never comes: the client waits forever, and nothing else can happen.
        ExploreResult result = Simulation.Explore([1], async sim =>
        {
            await using Aio.Net.Server server = await sim.OnHost("server", () => StartServerAsync(async (reader, writer) =>
            {
                await using (writer)
                {
                    await reader.ReadLineAsync();   // reads the request and never answers
                    await new AioEvent().WaitAsync();
                }
            }, null, 7000));
            await PlantedBugs.RequestAsync("server", 7000, "hello?");
        });
        Assert.NotNull(result.Failure);
        Assert.Equal(SimulationFailureKind.Hang, result.Failure.Kind);
        Assert.Contains("Deadlock detected", result.Failure.Message, StringComparison.Ordinal);
        Assert.IsType<DeadlockDetectedException>(result.Failure.Exception);
    }

    [Fact]
    public void Explore_TimersForever_HangAtTheTimeLimit()
    {
        ExploreResult result = Simulation.Explore([1], async sim =>
        {
            while (true)
            {
                await Sleep(60);   // a retry loop that never gives up
            }
        }, options: Quiet with { TimeLimit = 600 });
        Assert.NotNull(result.Failure);
        Assert.Equal(SimulationFailureKind.Hang, result.Failure.Kind);
        Assert.IsType<TimeoutException>(result.Failure.Exception);
        Assert.Contains("limit (600 s)", result.Failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Explore_LeakedTask_Reported()
    {
        ExploreResult result = Simulation.Explore([1], async sim =>
        {
            _ = CreateTask(async () => await Sleep(10), name: "forgotten");
            await Sleep(1);
        });
        Assert.NotNull(result.Failure);
        Assert.Equal(SimulationFailureKind.LeakedTask, result.Failure.Kind);
        Assert.Contains("forgotten", result.Failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Explore_ErrorNobodySaw_Reported()
    {
        ExploreResult result = Simulation.Explore([1], async sim =>
        {
            // A stream handler that throws: the server reports it to the loop's exception handler.
            await using Aio.Net.Server server = await sim.OnHost("server", () => StartServerAsync(async (reader, writer) =>
            {
                await using (writer)
                {
                    await reader.ReadLineAsync();
                    throw new InvalidOperationException("handler bug");
                }
            }, null, 7000));
            var (reader, writer) = await OpenConnectionAsync("server", 7000);
            writer.Write("x\n"u8);
            await reader.ReadAsync(-1);
            writer.Close();
            await writer.WaitClosedAsync();
        });
        Assert.NotNull(result.Failure);
        Assert.Equal(SimulationFailureKind.UnhandledError, result.Failure.Kind);
        Assert.Equal("handler bug", result.Failure.Exception?.Message);
    }

    [Fact]
    public void Explore_InvariantFalse_Reported_AndPassingSeedsRunToTheEnd()
    {
        int value = 0;
        ExploreResult result = Simulation.Explore(Enumerable.Range(1, 50), async sim =>
        {
            value = sim.Next(10);
            await Sleep(1);
        }, _ => value != 7);
        Assert.NotNull(result.Failure);
        Assert.Equal(SimulationFailureKind.Invariant, result.Failure.Kind);

        ExploreResult clean = Simulation.Explore(Enumerable.Range(1, 50), async sim => await Sleep(1), _ => true);
        Assert.Null(clean.Failure);
        Assert.Equal(50, clean.SeedsRun);
    }

    [Fact]
    public void Explore_Shrinks_ToTheFaultsTheFailureNeeds()
    {
        // Ten connections each see one write; resets are frequent. The program fails only if connection #3's exchange
        // is reset: shrinking must drop every other injected fault (they don't matter) and keep the one that does.
        static Func<Simulation, Task> Program() => async sim =>
        {
            await using Aio.Net.Server server = await PlantedBugs.ServeLinesAsync(sim, "server", 7000, q => Task.FromResult("ok"));
            for (int i = 0; i < 10; i++)
            {
                try
                {
                    await PlantedBugs.RequestAsync("server", 7000, $"request {i}");
                }
                catch (IOException) when (i != 3)
                {
                }
            }
        };
        var options = Quiet with { ResetProbability = 0.3 };
        ExploreResult result = Simulation.Explore(Enumerable.Range(1, 200), Program(), options: options);
        Assert.NotNull(result.Failure);
        SimulationFailure failure = result.Failure;
        Assert.Equal(SimulationFailureKind.Exception, failure.Kind);
        // The seed alone, unshrunk, injects more faults than the shrunk failure keeps; what it keeps still resets.
        SimulationFailure original = Assert.Throws<SimulationFailureException>(() => Simulation.Replay(failure.Seed, Program(), options: options)).Failure;
        Assert.True(original.InjectedFaults.Count > 1, original.Describe());
        Assert.NotEmpty(failure.SuppressedFaults);
        Assert.True(failure.InjectedFaults.Count < original.InjectedFaults.Count, failure.Describe());
        Assert.NotEmpty(failure.InjectedFaults);
        Assert.All(failure.Faults, f => Assert.Contains("reset", f.Detail, StringComparison.Ordinal));
        // The shrunk failure replays exactly.
        SimulationFailure again = Assert.Throws<SimulationFailureException>(() => Simulation.Replay(failure, Program())).Failure;
        Assert.Equal(failure.Trace, again.Trace);
        // The description names the seed, the kind and the faults.
        string text = failure.Describe();
        Assert.Contains($"Seed {failure.Seed} failed (Exception)", text, StringComparison.Ordinal);
        Assert.Contains("fault conn#", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Run_ProgramWithoutTheSimulationArgument_SeesItAsCurrent()
    {
        Simulation? seen = null;
        Simulation sim = Simulation.Run(5, async () =>
        {
            seen = Simulation.Current;
            await Sleep(0);
        });
        Assert.Same(sim, seen);
        Assert.Null(Simulation.Current);
        Assert.Equal(5, sim.Seed);
    }

    [Fact]
    public void Trace_FormatsOneRecordPerLine()
    {
        Simulation sim = Simulation.Run(1, async sim =>
        {
            await using Aio.Net.Server server = await PlantedBugs.ServeLinesAsync(sim, "server", 7000, q => Task.FromResult("ok"));
            await PlantedBugs.RequestAsync("server", 7000, "hi");
        });
        string text = sim.FormatTrace();
        Assert.Equal(sim.Trace.Count, text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.StartsWith("  [0.000000] listen server:7000", text, StringComparison.Ordinal);
    }
}
