using System.Numerics.Tensors;
using System.Runtime.InteropServices;

namespace SpikeEngine.Cpu;

// The buffers NeuronScan reads and writes: float32 rows, and the saved membrane H in float32,
// bfloat16 or float16.
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
}
