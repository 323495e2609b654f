using System.Runtime.Intrinsics;

namespace SpikeEngine.Cpu;

// Bit packing of binary tensors (spikes saved for backward at 1 bit per element).
// float32 (N) -> bit ((N + 7) / 8 bytes): bit i of byte b holds element 8b + i (little-endian),
// set when the element is non-zero. bit -> float32: 0 or 1.
public sealed partial class CpuBackend
{
    private const int BitChunk = 1 << 16; // elements per parallel chunk (a multiple of 8)

    private static void ConvertBits(Tensor src, Tensor dst)
    {
        var n = src.Numel;
        if (src.DType == DType.Float32 && dst.DType == DType.Bit)
        {
            var x = ArrayOf(src);
            var xOff = src.Offset;
            var bits = BitArrayOf(dst, "convert");
            Par.For(
                (n + BitChunk - 1) / BitChunk,
                1,
                (s, e) =>
                {
                    for (var c = s; c < e; c++)
                        Pack(x, xOff, bits, c * BitChunk, Math.Min(n, (c + 1) * BitChunk));
                }
            );
            return;
        }
        if (src.DType == DType.Bit && dst.DType == DType.Float32)
        {
            var bits = BitArrayOf(src, "convert");
            var y = ArrayOf(dst);
            var yOff = dst.Offset;
            Par.For(
                (n + BitChunk - 1) / BitChunk,
                1,
                (s, e) =>
                {
                    for (var c = s; c < e; c++)
                        Unpack(bits, y, yOff, c * BitChunk, Math.Min(n, (c + 1) * BitChunk));
                }
            );
            return;
        }
        throw new NotSupportedException(
            $"convert: {src.DType.Name()} to {dst.DType.Name()}: bit tensors convert to and from float32 only"
        );
    }

    private static byte[] BitArrayOf(Tensor t, string op)
    {
        if (t.Offset != 0)
            throw new ArgumentException(
                $"{op}: bit tensor {t.Describe()} is a view at element offset {t.Offset}; bit tensors must start their storage"
            );
        return (byte[])((CpuStorage)t.Storage).Data;
    }

    private static void Pack(float[] x, long xOff, byte[] bits, long start, long end)
    {
        var i = start;
        if (Vector256.IsHardwareAccelerated)
        {
            // Eight lanes per byte: the sign bits of (x == 0), inverted.
            for (; i + 8 <= end; i += 8)
            {
                var v = Vector256.Create(new ReadOnlySpan<float>(x, (int)(xOff + i), 8));
                var zero = Vector256.ExtractMostSignificantBits(
                    Vector256.Equals(v, Vector256<float>.Zero)
                );
                bits[i >> 3] = (byte)~zero;
            }
        }
        for (; i + 8 <= end; i += 8)
        {
            var o = xOff + i;
            var b = 0;
            for (var k = 0; k < 8; k++)
                b |= (x[o + k] != 0f ? 1 : 0) << k;
            bits[i >> 3] = (byte)b;
        }
        if (i < end)
        {
            var b = 0;
            for (var k = 0; i + k < end; k++)
                b |= (x[xOff + i + k] != 0f ? 1 : 0) << k;
            bits[i >> 3] = (byte)b;
        }
    }

    // The eight floats (0 or 1) of every byte value, for unpacking one byte per store.
    private static readonly float[] s_byteFloats = BuildByteFloats();

    private static float[] BuildByteFloats()
    {
        var t = new float[256 * 8];
        for (var b = 0; b < 256; b++)
        for (var k = 0; k < 8; k++)
            t[b * 8 + k] = (b >> k) & 1;
        return t;
    }

    private static void Unpack(byte[] bits, float[] y, long yOff, long start, long end)
    {
        var i = start;
        var table = s_byteFloats;
        for (; i + 8 <= end; i += 8)
            new ReadOnlySpan<float>(table, bits[i >> 3] * 8, 8).CopyTo(
                new Span<float>(y, (int)(yOff + i), 8)
            );
        for (; i < end; i++)
            y[yOff + i] = (bits[i >> 3] >> (int)(i & 7)) & 1;
    }
}
