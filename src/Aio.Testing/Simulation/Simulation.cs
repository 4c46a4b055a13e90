// Simulation: a seeded run of a program on a virtual clock with a simulated network (FoundationDB's simulation and
// Trio's autojump clock are the ideas).
//
// Design note. A run is a fresh EventLoop on a VirtualClock (autojump) whose network provider (Aio.LowLevel.LoopNetwork)
// is this simulation's SimNetwork: the program's ordinary calls – StartServerAsync, OpenConnectionAsync,
// CreateServerAsync, CreateConnectionAsync, CreateDatagramEndpointAsync, name resolution – reach in-memory links
// instead of sockets, and Aio's real transports and stream code run over them. Everything the network does is an
// event in the simulation's own queue, ordered by (virtual time, a seeded tie-break): events due at the same
// instant are delivered in an order the seed picks, which is the loop's one real choice here (what a poller reports
// together). The queue is drained by one loop timer armed at its earliest event, so the loop's own rules stay as
// documented: CallSoon FIFO, timers by deadline with equal deadlines in scheduling order, FIFO waiters. Latencies,
// segment sizes, bandwidths and faults are drawn from one SplitMix64 stream seeded by the seed, so the same seed and
// options give the same run, event for event; the trace records every event and fault.
// Faults that Explore may remove while shrinking (injected resets, datagram drops and duplicates, delay spikes) come
// from fault sources – each connection, each datagram socket, the network at large – with random streams of their
// own, and are named after them ("conn#3.0"): a run told to suppress some names skips exactly those, and the other
// sources draw as before, so a shrunk run stays close to the original.
// A hang is the loop's hang detector firing (tasks pending, nothing scheduled: no timer, no network event); a run
// whose timers never stop ends at the clock's Limit (SimulationOptions.TimeLimit).
using System.Text;
using Aio.LowLevel;

namespace Aio.Testing;

/// <summary>
/// Seeded simulation: runs a program on a fresh loop with virtual time and a simulated network whose latencies,
/// segmentations, reorderings and faults all come from a seed, so that a failing run replays exactly
/// (<see cref="Run(int, Func{Simulation, Task}, SimulationOptions?)"/>), and many seeds can be explored for a failing one
/// (<see cref="Explore"/>). See docs/simulation.md.
/// </summary>
public sealed partial class Simulation
{
    [ThreadStatic] private static Simulation? t_current;

    private readonly SimRandom _random;
    private readonly PriorityQueue<SimEvent, (double When, ulong Tie)> _events = new();
    private readonly List<SimulationTraceRecord> _trace = [];
    private readonly HashSet<string> _suppressed;
    private readonly List<string> _injected = [];
    private readonly SimNetwork _network;
    private readonly VirtualClock _clock;
    private TimerHandle? _pump;
    private double _pumpAt = double.PositiveInfinity;
    private int _faults;

    private Simulation(int seed, SimulationOptions options, IEnumerable<string>? suppressed)
    {
        Seed = seed;
        Options = options;
        _random = new SimRandom(unchecked((ulong)seed * 0x2545F4914F6CDD1DUL + 0x1234567UL));
        _suppressed = suppressed is null ? [] : [.. suppressed];
        NetworkFaults = NewFaultSource("net");
        _clock = new VirtualClock(0, autoJump: true) { Limit = options.TimeLimit };
        Loop = new EventLoop(_clock, "portable") { WatchdogEnabled = false, TaskDumpOnSignal = false, HangDetection = true };
        _network = new SimNetwork(this);
        LoopNetwork.SetProvider(Loop, _network);
    }

    /// <summary>The simulation running on this thread, or null.</summary>
    public static Simulation? Current => t_current;

    /// <summary>The seed of this run.</summary>
    public int Seed { get; }

    /// <summary>The options of this run.</summary>
    public SimulationOptions Options { get; }

    /// <summary>The run's loop (virtual clock, simulated network).</summary>
    public EventLoop Loop { get; }

    /// <summary>Virtual seconds since the run started.</summary>
    public double Now => _clock.Now();

    /// <summary>What happened, in order: every network event, seeded choice and fault.</summary>
    public IReadOnlyList<SimulationTraceRecord> Trace => _trace;

    /// <summary>How many removable faults (resets, drops, duplicates, delay spikes) the run drew, suppressed ones included.</summary>
    public int FaultsDrawn => _faults;

    /// <summary>The connections the simulated network carried, open or not, in the order they were made.</summary>
    public IReadOnlyList<SimulatedConnection> Connections => _network.Connections;

    /// <summary>A seeded number in [0, <paramref name="max"/>) for the program's own choices (which request, how long to think).</summary>
    public int Next(int max) => _random.Next(max);

    /// <summary>A seeded number in [0, 1).</summary>
    public double NextDouble() => _random.NextDouble();

    /// <summary>Declares a simulated host (names resolve to it); returns its address. Hosts named in a lookup are made on the fly unless <see cref="SimulationOptions.AutoCreateHosts"/> is off.</summary>
    public System.Net.IPAddress AddHost(string name) => _network.GetOrAddHost(name).Address;

    /// <summary>
    /// Runs <paramref name="body"/> as if on host <paramref name="host"/>: servers it starts on no address or a
    /// loopback address listen there, connections it opens leave from there (what it starts inherits this).
    /// Code outside runs on host "local".
    /// </summary>
    public async Task<T> OnHost<T>(string host, Func<Task<T>> body)
    {
        ArgumentNullException.ThrowIfNull(body);
        _network.GetOrAddHost(host);
        string? before = SimNetwork.CurrentHostName.Value;
        SimNetwork.CurrentHostName.Value = host;
        try
        {
            return await body();
        }
        finally
        {
            SimNetwork.CurrentHostName.Value = before;
        }
    }

    /// <summary>Runs <paramref name="body"/> as if on host <paramref name="host"/>; see <see cref="OnHost{T}(string, Func{Task{T}})"/>.</summary>
    public Task OnHost(string host, Func<Task> body)
    {
        ArgumentNullException.ThrowIfNull(body);
        return OnHost(host, async () => { await body(); return true; });
    }

    /// <summary>
    /// Cuts hosts <paramref name="a"/> and <paramref name="b"/> apart for <paramref name="duration"/> seconds from now:
    /// stream data and connection attempts between them wait until it heals (TCP retransmits), datagrams are lost.
    /// </summary>
    public void Partition(string a, string b, double duration)
    {
        _network.Partition(a, b, Now + duration);
        Record("fault", $"partition {a} | {b} for {duration:0.######} s");
    }

    /// <summary>Resets <paramref name="connection"/> now: both ends read ECONNRESET.</summary>
    public void Reset(SimulatedConnection connection)
    {
        ArgumentNullException.ThrowIfNull(connection);
        Record("fault", $"reset {connection} (scheduled)");
        connection.Reset();
    }

    /// <summary>Makes lookups of <paramref name="name"/> fail with HostNotFound for <paramref name="duration"/> seconds from now.</summary>
    public void FailDns(string name, double duration)
    {
        _network.FailDns(name, Now + duration);
        Record("fault", $"dns {name} fails for {duration:0.######} s");
    }

    /// <summary>The trace as text, one record per line; <paramref name="last"/> keeps only the last records (and every fault).</summary>
    public string FormatTrace(int? last = null) => FormatTrace(_trace, last);

    internal static string FormatTrace(IReadOnlyList<SimulationTraceRecord> trace, int? last)
    {
        var text = new StringBuilder();
        int from = last is int n ? Math.Max(0, trace.Count - n) : 0;
        for (int i = 0; i < trace.Count; i++)
        {
            if (i >= from || trace[i].Kind == "fault")
            {
                if (i >= from && from > 0 && i == from)
                {
                    text.Append("  ...\n");
                }
                text.Append("  ").Append(trace[i]).Append('\n');
            }
        }
        return text.ToString();
    }

    // ----------------------------------------------------------------- the event queue

    internal SimRandom Random => _random;

    /// <summary>Whether every event is recorded (else only faults): callers skip formatting a record nobody keeps.</summary>
    internal bool Tracing => Options.FullTrace;

    internal void Record(string kind, string detail)
    {
        if (Options.FullTrace || kind == "fault")
        {
            _trace.Add(new SimulationTraceRecord(Now, kind, detail));
        }
    }

    /// <summary>A fault source named <paramref name="name"/> for this run (see <see cref="FaultSource"/>).</summary>
    internal FaultSource NewFaultSource(string name) => new(name, unchecked((ulong)Seed * 0x9E3779B97F4A7C15UL));

    /// <summary>The network at large: DNS, connection set-up.</summary>
    internal FaultSource NetworkFaults { get; }

    /// <summary>Draws a removable fault from <paramref name="source"/> with chance <paramref name="p"/>: true if it happens (not suppressed). The description is made only then.</summary>
    internal bool DrawFault(FaultSource source, double p, string verb, object subject)
    {
        if (!source.Random.Chance(p))
        {
            return false;
        }
        string id = $"{source.Name}.{source.Count++}";
        _faults++;
        if (_suppressed.Contains(id))
        {
            Record("suppressed", $"fault {id}: {verb} {subject}");
            return false;
        }
        _injected.Add(id);
        Record("fault", $"{id}: {verb} {subject}");
        return true;
    }

    /// <summary>Schedules <paramref name="action"/> at virtual time <paramref name="when"/>; ties are broken by the seed.</summary>
    internal void Schedule(double when, Action action)
    {
        when = Math.Max(when, Now);
        _events.Enqueue(new SimEvent(action), (when, _random.NextULong()));
        if (when < _pumpAt)
        {
            _pump?.Cancel();
            _pumpAt = when;
            _pump = Loop.CallAt(when, Pump);
        }
    }

    private void Pump()
    {
        _pump = null;
        _pumpAt = double.PositiveInfinity;
        double now = Now + 1e-12;
        try
        {
            while (_events.TryPeek(out SimEvent? e, out (double When, ulong Tie) at) && at.When <= now)
            {
                _events.Dequeue();
                e.Action();
            }
        }
        finally
        {
            if (_events.TryPeek(out _, out (double When, ulong Tie) next) && !Loop.IsClosed)
            {
                _pumpAt = next.When;
                _pump = Loop.CallAt(next.When, Pump);
            }
        }
    }

    private sealed record SimEvent(Action Action);
}

/// <summary>One entry of a <see cref="Simulation.Trace"/>: when (virtual seconds), what kind ("connect", "data", "fault", …), and the details.</summary>
/// <param name="Time">Virtual seconds since the run started.</param>
/// <param name="Kind">The kind of event.</param>
/// <param name="Detail">What happened.</param>
public readonly record struct SimulationTraceRecord(double Time, string Kind, string Detail)
{
    /// <summary><c>[0.012345] data conn#1 local->db 17 B</c>.</summary>
    public override string ToString() => $"[{Time.ToString("0.000000", System.Globalization.CultureInfo.InvariantCulture)}] {Kind} {Detail}";
}
