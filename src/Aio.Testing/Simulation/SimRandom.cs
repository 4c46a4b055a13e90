namespace Aio.Testing;

/// <summary>SplitMix64: a tiny, fast generator whose sequence is fixed by the seed on every platform and .NET version.</summary>
internal sealed class SimRandom(ulong seed)
{
    private ulong _state = seed;

    public ulong NextULong()
    {
        ulong z = _state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>A number in [0, 1).</summary>
    public double NextDouble() => (NextULong() >> 11) * (1.0 / (1UL << 53));

    /// <summary>A number in [0, max); 0 when max is 0 or less.</summary>
    public int Next(int max) => max <= 0 ? 0 : (int)(NextULong() % (ulong)max);

    public bool Chance(double p) => p > 0 && NextDouble() < p;

    public double Between(double low, double high) => high <= low ? low : low + (high - low) * NextDouble();
}

/// <summary>
/// Where removable faults come from: a connection, a datagram socket, or the network at large. Each has its own
/// random stream (seeded by the run's seed and its name) and numbers its faults "name.0", "name.1", …, so removing
/// one fault while shrinking leaves the draws of every other source as they were.
/// </summary>
internal sealed class FaultSource(string name, ulong seed)
{
    public string Name => name;

    public SimRandom Random { get; } = new(seed ^ Hash(name));

    public int Count { get; set; }

    private static ulong Hash(string text)
    {
        ulong h = 14695981039346656037UL;   // FNV-1a: stable across processes, unlike string.GetHashCode
        foreach (char c in text)
        {
            h = (h ^ c) * 1099511628211UL;
        }
        return h;
    }
}
