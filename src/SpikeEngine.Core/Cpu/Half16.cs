using System.Numerics;
using System.Runtime.CompilerServices;

namespace SpikeEngine.Cpu;

/// <summary>bfloat16 and IEEE half conversions (round to nearest even).</summary>
internal static class Half16
{
    public static ushort ToBFloat16(float f)
    {
        var bits = BitConverter.SingleToUInt32Bits(f);
        if ((bits & 0x7FFFFFFF) > 0x7F800000)
            return (ushort)((bits >> 16) | 0x40); // quiet NaN
        var lsb = (bits >> 16) & 1;
        return (ushort)((bits + 0x7FFF + lsb) >> 16);
    }

    public static float FromBFloat16(ushort b) => BitConverter.UInt32BitsToSingle((uint)b << 16);

    public static ushort ToHalf(float f) => BitConverter.HalfToUInt16Bits((Half)f);

    public static float FromHalf(ushort h) => (float)BitConverter.UInt16BitsToHalf(h);

    /// <summary>float32 → bfloat16, round to nearest even, NaN kept quiet (as the scalar <see cref="ToBFloat16(float)"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ToBFloat16(ReadOnlySpan<float> src, Span<ushort> dst)
    {
        var w = Vector<uint>.Count;
        var j = 0;
        for (; j <= src.Length - 2 * w; j += 2 * w)
        {
            var lo = RoundBf16(Vector.AsVectorUInt32(new Vector<float>(src[j..])));
            var hi = RoundBf16(Vector.AsVectorUInt32(new Vector<float>(src[(j + w)..])));
            Vector.Narrow(lo, hi).CopyTo(dst[j..]);
        }
        for (; j < src.Length; j++)
            dst[j] = ToBFloat16(src[j]);
    }

    private static Vector<uint> RoundBf16(Vector<uint> u)
    {
        var nan = Vector.GreaterThan(
            u & new Vector<uint>(0x7FFFFFFFu),
            new Vector<uint>(0x7F800000u)
        );
        var lsb = Vector.ShiftRightLogical(u, 16) & Vector<uint>.One;
        var rounded = Vector.ShiftRightLogical(u + new Vector<uint>(0x7FFFu) + lsb, 16);
        var quiet = Vector.ShiftRightLogical(u, 16) | new Vector<uint>(0x40u);
        return Vector.ConditionalSelect(nan, quiet, rounded);
    }

    /// <summary>bfloat16 → float32 (exact).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void FromBFloat16(ReadOnlySpan<ushort> src, Span<float> dst)
    {
        var w = Vector<ushort>.Count;
        var half = Vector<uint>.Count;
        var j = 0;
        for (; j <= src.Length - w; j += w)
        {
            Vector.Widen(new Vector<ushort>(src[j..]), out var lo, out var hi);
            Vector.AsVectorSingle(Vector.ShiftLeft(lo, 16)).CopyTo(dst[j..]);
            Vector.AsVectorSingle(Vector.ShiftLeft(hi, 16)).CopyTo(dst[(j + half)..]);
        }
        for (; j < src.Length; j++)
            dst[j] = FromBFloat16(src[j]);
    }
}
