namespace Aio.Testing;

/// <summary>
/// How a <see cref="Simulation"/> shapes its network and its runs. Every random choice is drawn from the seed; these
/// bound the choices. The defaults give a quick, lossless network whose latency still varies enough to reorder
/// what happens on different connections.
/// </summary>
public sealed record SimulationOptions
{
    /// <summary>The smallest one-way latency of a link, in seconds. Default 0.0001.</summary>
    public double MinLatency { get; init; } = 0.0001;

    /// <summary>The largest one-way latency of a link, in seconds (each segment and datagram draws its own in between). Default 0.01.</summary>
    public double MaxLatency { get; init; } = 0.01;

    /// <summary>The smallest bandwidth of a connection in bytes per second (each connection draws its own). Default: unlimited.</summary>
    public double MinBandwidth { get; init; } = double.PositiveInfinity;

    /// <summary>The largest bandwidth of a connection in bytes per second. Default: unlimited.</summary>
    public double MaxBandwidth { get; init; } = double.PositiveInfinity;

    /// <summary>Cut writes into segments of seeded sizes (half of them, at one or two points), so the peer's reads return arbitrary pieces. Default true.</summary>
    public bool Segmentation { get; init; } = true;

    /// <summary>Bytes a connection carries in one direction before the sender must wait for the receiver to read (its window). Default 65536.</summary>
    public int Window { get; init; } = 65536;

    /// <summary>Chance that a write makes the network reset its connection (both ends read ECONNRESET). Default 0.</summary>
    public double ResetProbability { get; init; }

    /// <summary>Chance that a datagram is lost. Default 0.</summary>
    public double DatagramDropProbability { get; init; }

    /// <summary>Chance that a datagram arrives twice. Default 0.</summary>
    public double DatagramDuplicateProbability { get; init; }

    /// <summary>Chance that a segment or datagram is held up by an extra delay of up to <see cref="DelaySpike"/> seconds (a slow link, a stalled peer). Default 0.</summary>
    public double DelaySpikeProbability { get; init; }

    /// <summary>The longest extra delay of a <see cref="DelaySpikeProbability"/> spike, in seconds. Default 1.</summary>
    public double DelaySpike { get; init; } = 1.0;

    /// <summary>Virtual seconds a run may last; a run still busy then fails as a hang (a livelock: timers armed forever). Default 3600.</summary>
    public double TimeLimit { get; init; } = 3600;

    /// <summary>Names nobody declared resolve to a new simulated host (true, the default) or fail with HostNotFound.</summary>
    public bool AutoCreateHosts { get; init; } = true;

    /// <summary>Keep the trace of every network event (true, the default); false keeps only the faults, for speed.</summary>
    public bool FullTrace { get; init; } = true;

    /// <summary>The defaults.</summary>
    public static SimulationOptions Default { get; } = new();
}
