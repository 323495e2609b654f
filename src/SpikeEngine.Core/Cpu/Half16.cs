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
}
