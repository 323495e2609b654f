using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace SpikeEngine.Cpu;

// The buffers NeuronScan reads and writes: float32 rows, and the saved membrane H in float32,
// bfloat16 or float16, and V = reset(H) read back from the saved state.
internal static partial class NeuronScan
{
    /// <summary>A float32 tensor's array and element offset (Array null: absent).</summary>
    internal readonly record struct Buf(float[]? Array, int Offset)
    {
        public bool IsNull => Array is null;

        public Span<float> Row(int start, int n) => new(Array, Offset + start, n);
    }

    /// <summary>The saved membrane H: float[] (float32) or ushort[] (bfloat16, float16).</summary>
    internal readonly record struct HBuf(Array? Data, int Offset, DType DType)
    {
        public bool IsNull => Data is null;
    }

    // ---------------------------------------------------------------------------------------------
    // saved-state storage: float32 in place, bfloat16/float16 converted (round to nearest even)

    private static void StoreH(ReadOnlySpan<float> src, HBuf h, int row)
    {
        var dst = new Span<ushort>((ushort[])h.Data!, h.Offset + row, src.Length);
        if (h.DType == DType.Float16)
            TensorPrimitives.ConvertToHalf(src, MemoryMarshal.Cast<ushort, Half>(dst));
        else
            Half16.ToBFloat16(src, dst);
    }

    // The row of H at `row` as float32: a view of the saved tensor, or converted into scratch.
    private static ReadOnlySpan<float> LoadH(HBuf h, int row, Span<float> scratch)
    {
        var n = scratch.Length;
        if (h.DType == DType.Float32)
            return new ReadOnlySpan<float>((float[])h.Data!, h.Offset + row, n);
        var src = new ReadOnlySpan<ushort>((ushort[])h.Data!, h.Offset + row, n);
        if (h.DType == DType.Float16)
            TensorPrimitives.ConvertToSingle(MemoryMarshal.Cast<ushort, Half>(src), scratch);
        else
            Half16.FromBFloat16(src, scratch);
        return scratch;
    }

    // V = reset(H) from the saved state (hs: H - HOff), in place-capable form (src may alias dst).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ResetInto(in Consts c, ReadOnlySpan<float> hs, Span<float> dst)
    {
        var n = dst.Length;
        var w = Vector<float>.Count;
        var vth = new Vector<float>(c.Vth);
        var vr = new Vector<float>(c.Vr);
        var hoff = new Vector<float>(c.HOff);
        var doff = new Vector<float>(c.DOff);
        var j = 0;
        for (; j <= n - w; j += w)
        {
            var stored = new Vector<float>(hs[j..]);
            var hv = stored + hoff;
            var fire = Vector.GreaterThanOrEqual(stored - doff, Vector<float>.Zero);
            var vv = c.Hard
                ? Vector.ConditionalSelect(fire, vr, hv)
                : hv - Vector.ConditionalSelect(fire, vth, Vector<float>.Zero);
            vv.CopyTo(dst[j..]);
        }
        for (; j < n; j++)
        {
            var hv = hs[j] + c.HOff;
            var fire = hs[j] - c.DOff >= 0f;
            dst[j] = c.Hard ? (fire ? c.Vr : hv) : hv - (fire ? c.Vth : 0f);
        }
    }
}
