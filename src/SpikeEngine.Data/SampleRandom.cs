using System.Numerics;
using System.Runtime.CompilerServices;

namespace SpikeEngine.Data;

/// <summary>
/// A small counter-keyed random generator (xoshiro256**, seeded through SplitMix64) used for every
/// random choice in the data layer. A stream is named by a seed and up to three keys (epoch,
/// sample index, purpose), so results depend only on those numbers and never on thread
/// scheduling or on how many samples were read before: a resumed run sees the same augmentations.
/// </summary>
public struct SampleRandom
{
    private ulong _s0;
    private ulong _s1;
    private ulong _s2;
    private ulong _s3;

    /// <summary>Creates the stream named by <paramref name="seed"/> and the three keys.</summary>
    public SampleRandom(ulong seed, ulong key1 = 0, ulong key2 = 0, ulong key3 = 0)
    {
        // Mix the keys one after another so (a, b) and (b, a) give different streams.
        ulong x = SplitMix(seed ^ 0x5DEECE66DUL);
        x = SplitMix(x ^ key1);
        x = SplitMix(x ^ (key2 + 0x9E3779B97F4A7C15UL));
        x = SplitMix(x ^ (key3 + 0xD1B54A32D192ED03UL));
        _s0 = SplitMix(ref x);
        _s1 = SplitMix(ref x);
        _s2 = SplitMix(ref x);
        _s3 = SplitMix(ref x);
    }

    /// <summary>Purpose keys, so different uses of one (seed, epoch) never share a stream.</summary>
    internal const ulong SamplePurpose = 1;
    internal const ulong PermutationPurpose = 2;
    internal const ulong EncoderPurpose = 3;

    /// <summary>The stream the loader hands to <see cref="IDataset.ReadSample(int, Span{float}, ref SampleRandom)"/>.</summary>
    public static SampleRandom ForSample(ulong seed, int epoch, int index) =>
        new(seed, (ulong)(uint)epoch, (ulong)(uint)index, SamplePurpose);

    /// <summary>Next 64 uniformly distributed bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong NextUInt64()
    {
        ulong result = BitOperations.RotateLeft(_s1 * 5, 7) * 9;
        ulong t = _s1 << 17;
        _s2 ^= _s0;
        _s3 ^= _s1;
        _s1 ^= _s2;
        _s0 ^= _s3;
        _s2 ^= t;
        _s3 = BitOperations.RotateLeft(_s3, 45);
        return result;
    }

    /// <summary>Uniform in [0, 1) with 24 bits of resolution.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float NextSingle() => (NextUInt64() >> 40) * (1.0f / (1 << 24));

    /// <summary>Uniform in [0, 1) with 53 bits of resolution.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform in [<paramref name="low"/>, <paramref name="high"/>).</summary>
    public double NextDouble(double low, double high) => low + (high - low) * NextDouble();

    /// <summary>Uniform integer in [0, <paramref name="maxExclusive"/>), unbiased (Lemire's method).</summary>
    public int NextInt(int maxExclusive)
    {
        if (maxExclusive <= 0)
            throw new ArgumentOutOfRangeException(
                nameof(maxExclusive),
                maxExclusive,
                "must be positive"
            );
        ulong range = (ulong)maxExclusive;
        ulong product = Math.BigMul(NextUInt64(), range, out ulong low);
        if (low < range)
        {
            ulong threshold = (0 - range) % range;
            while (low < threshold)
                product = Math.BigMul(NextUInt64(), range, out low);
        }
        return (int)product;
    }

    /// <summary>Uniform integer in [<paramref name="minInclusive"/>, <paramref name="maxInclusive"/>].</summary>
    public int NextInt(int minInclusive, int maxInclusive) =>
        minInclusive + NextInt(checked(maxInclusive - minInclusive + 1));

    private static ulong SplitMix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    private static ulong SplitMix(ref ulong state)
    {
        state += 0x9E3779B97F4A7C15UL;
        return SplitMix(state);
    }
}
