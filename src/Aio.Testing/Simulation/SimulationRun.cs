using System.Diagnostics;
using System.Text;
using Aio.LowLevel;

namespace Aio.Testing;

public sealed partial class Simulation
{
    /// <summary>
    /// Runs <paramref name="program"/> once with <paramref name="seed"/> on a fresh loop (virtual time, simulated network)
    /// and returns the finished simulation (its <see cref="Trace"/>). Throws <see cref="SimulationFailureException"/>
    /// when the run fails: the program throws, hangs, leaves tasks behind, or an error reaches the loop's exception handler.
    /// </summary>
    public static Simulation Run(int seed, Func<Simulation, Task> program, SimulationOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(program);
        var sim = new Simulation(seed, options ?? SimulationOptions.Default, null);
        SimulationFailure? failure = sim.Execute(program, null);
        if (failure is not null)
        {
            throw new SimulationFailureException(failure);
        }
        return sim;
    }

    /// <summary>Runs <paramref name="program"/> once with <paramref name="seed"/>; the program reaches the simulation through <see cref="Current"/>.</summary>
    public static Simulation Run(int seed, Func<Task> program, SimulationOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(program);
        return Run(seed, _ => program(), options);
    }

    /// <summary>
    /// Runs <paramref name="program"/> with each seed in turn until one fails – an exception, a hang, a leaked task, an
    /// error reported to the loop, or <paramref name="invariant"/> false once the program returned – and shrinks that
    /// failure: it replays the seed with fewer injected faults and smaller delays while it still fails the same way.
    /// Returns the failure (null <see cref="ExploreResult.Failure"/> when every seed passed).
    /// </summary>
    /// <param name="seeds">The seeds to try, e.g. <c>Enumerable.Range(1, 1000)</c>.</param>
    /// <param name="program">The program; it must start from nothing on each run (state of one run must not leak into the next).</param>
    /// <param name="invariant">Checked after the program returned; false fails the seed. Null: no check.</param>
    /// <param name="options">The network and limits; null for the defaults.</param>
    public static ExploreResult Explore(IEnumerable<int> seeds, Func<Simulation, Task> program, Func<Simulation, bool>? invariant = null, SimulationOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(seeds);
        ArgumentNullException.ThrowIfNull(program);
        options ??= SimulationOptions.Default;
        var clock = Stopwatch.StartNew();
        int runs = 0;
        foreach (int seed in seeds)
        {
            runs++;
            var sim = new Simulation(seed, options with { FullTrace = false }, null);
            SimulationFailure? failure = sim.Execute(program, invariant);
            if (failure is not null)
            {
                return new ExploreResult(runs, Shrink(failure, program, invariant), clock.Elapsed);
            }
        }
        return new ExploreResult(runs, null, clock.Elapsed);
    }

    /// <summary>
    /// Re-runs a failure alone, exactly (same seed, options and suppressed faults), for a debugger: returns the
    /// simulation, or throws <see cref="SimulationFailureException"/> as the failing run does.
    /// </summary>
    public static Simulation Replay(SimulationFailure failure, Func<Simulation, Task> program, Func<Simulation, bool>? invariant = null)
    {
        ArgumentNullException.ThrowIfNull(failure);
        ArgumentNullException.ThrowIfNull(program);
        var sim = new Simulation(failure.Seed, failure.Options with { FullTrace = true }, failure.SuppressedFaults);
        SimulationFailure? again = sim.Execute(program, invariant);
        if (again is not null)
        {
            throw new SimulationFailureException(again);
        }
        return sim;
    }

    /// <summary>Re-runs one seed alone with the full trace; see <see cref="Replay(SimulationFailure, Func{Simulation, Task}, Func{Simulation, bool}?)"/>.</summary>
    public static Simulation Replay(int seed, Func<Simulation, Task> program, Func<Simulation, bool>? invariant = null, SimulationOptions? options = null) =>
        Replay(new SimulationFailure(seed, SimulationFailureKind.Exception, "", null, options ?? SimulationOptions.Default, [], [], []), program, invariant);

    /// <summary>Greedy shrinking: drop injected faults one at a time, then halve the delays, keeping each step that still fails the same way.</summary>
    private static SimulationFailure Shrink(SimulationFailure failure, Func<Simulation, Task> program, Func<Simulation, bool>? invariant)
    {
        SimulationFailure best = failure;
        SimulationFailure? Try(SimulationOptions options, IEnumerable<string> suppressed)
        {
            var sim = new Simulation(failure.Seed, options with { FullTrace = false }, suppressed);
            SimulationFailure? f = sim.Execute(program, invariant);
            return f is not null && f.Kind == failure.Kind ? f : null;
        }
        // Each injected fault in turn (the latest first: those nearest the failure are likeliest to matter, the
        // early ones to be noise); at most 64 tries.
        var tried = new HashSet<string>();
        for (int budget = 64; budget > 0; budget--)
        {
            string? next = best.InjectedFaults.Reverse().FirstOrDefault(tried.Add);
            if (next is null)
            {
                break;
            }
            if (Try(best.Options, best.SuppressedFaults.Append(next)) is { } smaller)
            {
                best = smaller;
            }
        }
        SimulationOptions o = best.Options;
        SimulationOptions[] steps =
        [
            o with { DelaySpike = o.DelaySpike / 4 },
            o with { MaxLatency = o.MaxLatency / 4, MinLatency = Math.Min(o.MinLatency, o.MaxLatency / 4) },
            o with { MaxLatency = o.MaxLatency / 16, MinLatency = Math.Min(o.MinLatency, o.MaxLatency / 16) },
            o with { Segmentation = false },
        ];
        foreach (SimulationOptions step in steps)
        {
            SimulationOptions candidate = step with
            {
                Segmentation = step.Segmentation && best.Options.Segmentation,
                MaxLatency = Math.Min(step.MaxLatency, best.Options.MaxLatency),
                MinLatency = Math.Min(step.MinLatency, best.Options.MinLatency),
                DelaySpike = Math.Min(step.DelaySpike, best.Options.DelaySpike),
            };
            if (Try(candidate, best.SuppressedFaults) is { } smaller)
            {
                best = smaller;
            }
        }
        // The final replay keeps the whole trace of the shrunk run.
        var last = new Simulation(best.Seed, best.Options with { FullTrace = true }, best.SuppressedFaults);
        return last.Execute(program, invariant) ?? best;
    }

    /// <summary>One run: the program as the main task, then the checks. Returns null when it passed.</summary>
    private SimulationFailure? Execute(Func<Simulation, Task> program, Func<Simulation, bool>? invariant)
    {
        var errors = new List<ExceptionContext>();
        Loop.ExceptionHandler = (_, context) => errors.Add(context);
        Simulation? outer = t_current;
        t_current = this;
        SimulationFailureKind? kind = null;
        string message = "";
        Exception? exception = null;
        try
        {
            Loop.RunUntilComplete(() => program(this));
            IReadOnlyCollection<AioTask> leftovers = Loop.AllTasks();
            if (leftovers.Count > 0)
            {
                kind = SimulationFailureKind.LeakedTask;
                message = $"The program returned with {leftovers.Count} task(s) still pending: {string.Join(", ", leftovers)}.";
            }
            else if (errors.Count > 0)
            {
                kind = SimulationFailureKind.UnhandledError;
                message = $"{errors.Count} error(s) reached the loop's exception handler; the first: {errors[0]}";
                exception = errors[0].Exception;
            }
            else if (invariant is not null)
            {
                try
                {
                    if (!invariant(this))
                    {
                        kind = SimulationFailureKind.Invariant;
                        message = "The invariant is false after the program returned.";
                    }
                }
                catch (Exception e)
                {
                    kind = SimulationFailureKind.Invariant;
                    message = $"The invariant threw {e.GetType().Name}: {e.Message}";
                    exception = e;
                }
            }
        }
        catch (DeadlockDetectedException e)
        {
            kind = SimulationFailureKind.Hang;
            message = e.Message;
            exception = e;
        }
        catch (TimeoutException e) when (e.TargetSite?.DeclaringType == typeof(VirtualClock))
        {
            kind = SimulationFailureKind.Hang;
            message = e.Message;
            exception = e;
        }
        catch (Exception e)
        {
            kind = SimulationFailureKind.Exception;
            message = $"The program threw {e.GetType().Name}: {e.Message}";
            exception = e;
        }
        finally
        {
            t_current = outer;
            try
            {
                if (!Loop.IsRunning && Loop.AllTasks().Count > 0)
                {
                    _clock.Limit = double.PositiveInfinity;
                    Loop.CancelAllTasks();
                }
            }
            catch (Exception)
            {
                // The sweep of a failed run may fail too (a task that will not die); the first failure is what counts.
            }
            Loop.Close();
        }
        if (kind is null)
        {
            return null;
        }
        Record("failure", kind.Value.ToString()); // the message names objects by ids that differ between runs
        return new SimulationFailure(Seed, kind.Value, message, exception, Options, [.. _suppressed.Order(StringComparer.Ordinal)], [.. _injected], [.. _trace]);
    }
}

/// <summary>What made a simulated run fail.</summary>
public enum SimulationFailureKind
{
    /// <summary>The program threw.</summary>
    Exception,

    /// <summary>The loop went idle with tasks pending and nothing scheduled (a deadlock or a lost wake-up), or timers kept it busy past the time limit.</summary>
    Hang,

    /// <summary>The program returned with tasks still pending.</summary>
    LeakedTask,

    /// <summary>An error reached the loop's exception handler (a failing callback, a task exception nobody retrieved).</summary>
    UnhandledError,

    /// <summary>The invariant was false after the program returned.</summary>
    Invariant,
}

/// <summary>A failed run: enough to replay it exactly (<see cref="Simulation.Replay(SimulationFailure, Func{Simulation, Task}, Func{Simulation, bool}?)"/>) and to read what happened.</summary>
/// <param name="Seed">The seed.</param>
/// <param name="Kind">What failed.</param>
/// <param name="Message">What failed, in words.</param>
/// <param name="Exception">The exception, when there is one.</param>
/// <param name="Options">The options of the failing run (after shrinking: the smallest delays that still fail).</param>
/// <param name="SuppressedFaults">The faults the run skips, by name ("conn#3.0"; after shrinking: every fault found not needed for the failure).</param>
/// <param name="InjectedFaults">The faults the run injected, by name, in order.</param>
/// <param name="Trace">The trace of the failing run.</param>
public sealed record SimulationFailure(
    int Seed,
    SimulationFailureKind Kind,
    string Message,
    Exception? Exception,
    SimulationOptions Options,
    IReadOnlyList<string> SuppressedFaults,
    IReadOnlyList<string> InjectedFaults,
    IReadOnlyList<SimulationTraceRecord> Trace)
{
    /// <summary>The trace records of the faults of the failing run (injected ones, and those the program asked for).</summary>
    public IReadOnlyList<SimulationTraceRecord> Faults => Trace.Where(r => r.Kind == "fault").ToList();

    /// <summary>The seed, the kind, the message and the end of the trace (the last <paramref name="last"/> records, and every fault).</summary>
    public string Describe(int last = 40)
    {
        var text = new StringBuilder();
        text.Append($"Seed {Seed} failed ({Kind}): {Message}\n");
        if (SuppressedFaults.Count > 0)
        {
            text.Append($"Shrunk: {SuppressedFaults.Count} fault(s) suppressed ({string.Join(", ", SuppressedFaults)}); ");
        }
        text.Append($"{InjectedFaults.Count} fault(s) injected; max latency {Options.MaxLatency:0.######} s. Trace:\n");
        text.Append(Simulation.FormatTrace(Trace, last));
        return text.ToString();
    }

    /// <inheritdoc cref="Describe"/>
    public override string ToString() => Describe();
}

/// <summary>What <see cref="Simulation.Explore"/> found.</summary>
/// <param name="SeedsRun">How many seeds ran (the failing one included).</param>
/// <param name="Failure">The first failure, shrunk; null when every seed passed.</param>
/// <param name="Elapsed">Wall time of the exploration, shrinking included.</param>
public sealed record ExploreResult(int SeedsRun, SimulationFailure? Failure, TimeSpan Elapsed);

/// <summary>A simulated run failed; <see cref="Failure"/> says how and holds what replays it.</summary>
public sealed class SimulationFailureException : Exception
{
    /// <summary>Creates the exception for <paramref name="failure"/>.</summary>
    public SimulationFailureException(SimulationFailure failure) : base(failure?.Describe(), failure?.Exception)
    {
        Failure = failure!;
    }

    /// <summary>Creates the exception with a message only.</summary>
    public SimulationFailureException(string message) : base(message)
    {
        Failure = null!;
    }

    /// <summary>Creates the exception with a message and an inner exception.</summary>
    public SimulationFailureException(string message, Exception? innerException) : base(message, innerException)
    {
        Failure = null!;
    }

    /// <summary>Creates the exception with a default message.</summary>
    public SimulationFailureException() : base("A simulated run failed.")
    {
        Failure = null!;
    }

    /// <summary>The failure (seed, kind, trace).</summary>
    public SimulationFailure Failure { get; }
}
