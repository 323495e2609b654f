namespace SpikeEngine.Nn;

/// <summary>
/// y = x·Wᵀ + b over <c>[N, in]</c> or multi-step <c>[T, N, in]</c> (applied per time step).
/// PyTorch's default initialisation: W and b uniform on ±1/sqrt(in).
/// </summary>
public sealed class Linear : Layer
{
    public Linear(int inFeatures, int outFeatures, bool bias = true, ulong seed = 0)
    {
        if (inFeatures <= 0)
            throw new ArgumentException(
                $"Linear: inFeatures must be positive, got {inFeatures}",
                nameof(inFeatures)
            );
        if (outFeatures <= 0)
            throw new ArgumentException(
                $"Linear: outFeatures must be positive, got {outFeatures}",
                nameof(outFeatures)
            );
        InFeatures = inFeatures;
        OutFeatures = outFeatures;
        var bound = 1f / MathF.Sqrt(inFeatures);
        Weight = NewParameter(
            "weight",
            [outFeatures, inFeatures],
            () => Tensor.Uniform([outFeatures, inFeatures], -bound, bound, seed)
        );
        if (bias)
            Bias = NewParameter(
                "bias",
                [outFeatures],
                () => Tensor.Uniform([outFeatures], -bound, bound, seed ^ 0x9E3779B97F4A7C15UL)
            );
    }

    public int InFeatures { get; }
    public int OutFeatures { get; }

    /// <summary>(out, in)</summary>
    public Tensor Weight { get; }

    /// <summary>(out), or null.</summary>
    public Tensor? Bias { get; }

    public override Tensor Forward(Tensor x) // (N, in) or (T, N, in)
    {
        ThrowIfShapeOnly("Linear");
        using var owner = GraphRecorder.Enter(this);
        return SeqToBatch.Apply("Linear", x, 2, f => Ops.Linear(f, Weight, Bias));
    }

    public override int[] InferShape(int[] shape, ShapeTrace trace) =>
        SeqToBatch.InferApply(
            "Linear",
            shape,
            2,
            s =>
            {
                if (s[1] != InFeatures)
                    throw new ArgumentException(
                        $"Linear: input has {s[1]} features ({ShapeTrace.Format(shape)}), the layer expects {InFeatures}",
                        nameof(shape)
                    );
                trace.Kept(shape);
                return [s[0], OutFeatures];
            }
        );
}
