namespace SpikeEngine.Nn;

/// <summary>
/// Inverted dropout: in training, zeroes each element with probability <see cref="P"/> and scales
/// the rest by 1/(1-p). Multi-step input <c>[T, N, ...]</c> draws one mask over <c>[N, ...]</c>
/// and shares it across all time steps (SpikingJelly's <c>layer.Dropout</c>: a neuron dropped at
/// one step stays dropped for the whole sequence). Masks are deterministic: the k-th training
/// call uses a stream derived from (seed, k); the replay of a recomputed segment reuses the k of its
/// first pass (<see cref="Recompute"/>).
/// </summary>
public sealed class Dropout : Layer
{
    private ulong _calls;

    public Dropout(float p = 0.5f, ulong seed = 0, bool multiStep = true)
    {
        if (!(p >= 0f && p < 1f))
            throw new ArgumentException($"Dropout: p must be in [0, 1), got {p}", nameof(p));
        P = p;
        Seed = seed;
        MultiStep = multiStep;
    }

    public float P { get; }
    public ulong Seed { get; }

    /// <summary>True: axis 0 is time and the mask is shared across it.</summary>
    public bool MultiStep { get; }

    public override Tensor Forward(Tensor x) // (T, N, ...) or (N, ...)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (MultiStep && x.Rank < 2)
            throw new ArgumentException(
                $"Dropout: multi-step input must be [T, N, ...], got {x.Shape}",
                nameof(x)
            );
        if (!IsTraining || P == 0f)
            return x.Reshape(x.Shape.ToArray());
        var steps = MultiStep ? x.Shape[0] : 1;
        var perStep = (int)(x.Numel / steps);
        float[] keep;
        using (GradMode.NoGrad())
        using (
            var u = Tensor.Uniform(
                [perStep],
                0f,
                1f,
                SplitMix(Seed + Recompute.DropoutCall(this, ref _calls))
            )
        )
            keep = u.ToArray();
        var scale = 1f / (1f - P);
        var mask = new float[x.Numel];
        for (var i = 0; i < perStep; i++)
        {
            var m = keep[i] < P ? 0f : scale;
            for (var t = 0; t < steps; t++)
                mask[(long)t * perStep + i] = m;
        }
        using var maskT = Tensor.FromArray(mask, x.Shape.ToArray(), device: x.Device);
        return x * maskT;
    }

    public override int[] InferShape(int[] shape, ShapeTrace trace)
    {
        ArgumentNullException.ThrowIfNull(trace);
        trace.Saved(4 * ShapeTrace.Numel(shape));
        return (int[])shape.Clone();
    }

    private static ulong SplitMix(ulong z)
    {
        z += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
