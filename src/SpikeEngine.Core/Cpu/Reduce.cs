using System.Numerics.Tensors;

namespace SpikeEngine.Cpu;

// Reductions over the middle axis of [outer, reduce, inner] and their broadcast back
// (kernels/reduce.cu is the CUDA twin).
public sealed partial class CpuBackend
{
    public void Sum(Tensor x, int outer, int reduce, int inner, Tensor y)
    {
        using var profile = OpProfile.Time(OpKind.Elementwise);
        var xa = ArrayOf(x);
        var ya = ArrayOf(y);
        int xo = (int)x.Offset,
            yo = (int)y.Offset;
        if (inner == 1)
        {
            Par.For(
                outer,
                Math.Max(1, Par.SerialThreshold / reduce),
                (s, e) =>
                {
                    for (var o = s; o < e; o++)
                        ya[yo + o] = SumPairwise(
                            new ReadOnlySpan<float>(xa, xo + (int)o * reduce, reduce)
                        );
                }
            );
            return;
        }
        Par.For(
            outer,
            1,
            (s, e) =>
            {
                for (var o = s; o < e; o++)
                {
                    var acc = new Span<float>(ya, yo + (int)o * inner, inner);
                    acc.Clear();
                    for (var r = 0; r < reduce; r++)
                        TensorPrimitives.Add(
                            acc,
                            new ReadOnlySpan<float>(xa, xo + ((int)o * reduce + r) * inner, inner),
                            acc
                        );
                }
            }
        );
    }

    /// <summary>Sum with double accumulation over blocks: keeps large reductions accurate.</summary>
    internal static float SumPairwise(ReadOnlySpan<float> x)
    {
        const int block = 4096;
        if (x.Length <= block)
            return TensorPrimitives.Sum(x);
        double total = 0;
        for (var i = 0; i < x.Length; i += block)
            total += TensorPrimitives.Sum(x.Slice(i, Math.Min(block, x.Length - i)));
        return (float)total;
    }

    public void Expand(Tensor x, int outer, int reduce, int inner, Tensor y)
    {
        using var profile = OpProfile.Time(OpKind.Elementwise);
        var xa = ArrayOf(x);
        var ya = ArrayOf(y);
        int xo = (int)x.Offset,
            yo = (int)y.Offset;
        Par.For(
            (long)outer * reduce,
            Math.Max(1, Par.SerialThreshold / inner),
            (s, e) =>
            {
                for (var or = s; or < e; or++)
                {
                    var o = (int)(or / reduce);
                    var dst = new Span<float>(ya, yo + (int)or * inner, inner);
                    if (inner == 1)
                        dst[0] = xa[xo + o];
                    else
                        new ReadOnlySpan<float>(xa, xo + o * inner, inner).CopyTo(dst);
                }
            }
        );
    }
}
