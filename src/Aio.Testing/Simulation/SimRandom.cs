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
