namespace SpikeEngine.Cpu;

/// <summary>
/// Counter-based random numbers: element i of a fill depends only on (seed, i), so results are
/// independent of threading and identical on every backend (the CUDA kernels use the same mix).
/// </summary>
public static class CounterRng
{
    /// <summary>SplitMix64 finaliser of (seed, counter).</summary>
    public static ulong Mix(ulong seed, ulong counter)
    {
        var z = seed + (counter + 1) * 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Uniform float in [0, 1) with 24 random bits.</summary>
    public static float Uniform(ulong seed, ulong counter) =>
        (Mix(seed, counter) >> 40) * (1.0f / (1 << 24));

    /// <summary>Standard normal by Box–Muller from counters 2i and 2i+1.</summary>
    public static float Normal(ulong seed, ulong i)
    {
        var u1 = ((Mix(seed, 2 * i) >> 11) + 1) * (1.0 / (1UL << 53)); // (0, 1]
        var u2 = (Mix(seed, 2 * i + 1) >> 11) * (1.0 / (1UL << 53));
        return (float)(Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2));
    }
}
