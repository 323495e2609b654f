namespace SpikeEngine.Training;

/// <summary>How the [T, N, K] network output becomes a loss.</summary>
public enum LossKind
{
    /// <summary>Cross-entropy of the mean output over T: <c>CE(mean_t o_t, y)</c>.</summary>
    MeanCrossEntropy,

    /// <summary>
    /// TET (Deng et al., ICLR 2022, "Temporal Efficient Training"): per-step cross-entropy averaged
    /// over T, <c>(1/T) Σ_t CE(o_t, y)</c>.
    /// </summary>
    Tet,
}

/// <summary>Losses over time-major classifier outputs.</summary>
public static class Losses
{
    /// <summary>
    /// The loss of <paramref name="output"/> [T, N, K] against int32 <paramref name="labels"/> [N]
    /// with label smoothing ε. Returns a [1] tensor.
    /// </summary>
    public static Tensor Compute(
        Tensor output,
        Tensor labels,
        LossKind kind,
        float labelSmoothing = 0f
    )
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(labels);
        if (output.Rank != 3)
            throw new ArgumentException(
                $"loss: output must be [T, N, classes], got {output.Shape}",
                nameof(output)
            );
        int t = output.Shape[0],
            n = output.Shape[1],
            k = output.Shape[2];
        if (labels.Rank != 1 || labels.Shape[0] != n)
            throw new ArgumentException(
                $"loss: labels must be [{n}] to match output {output.Shape}, got {labels.Shape}",
                nameof(labels)
            );
        switch (kind)
        {
            case LossKind.MeanCrossEntropy:
            {
                using var mean = output.Mean([0]);
                return Ops.CrossEntropy(mean, labels, labelSmoothing);
            }
            case LossKind.Tet:
            {
                // Every step has N rows, so the mean over the T·N rows is the mean over t of the
                // per-step means.
                using var flat = output.Reshape(t * n, k);
                var host = labels.ToInt32Array();
                var repeated = new int[t * n];
                for (int s = 0; s < t; s++)
                    host.CopyTo(repeated, s * n);
                using var rep = Tensor.FromInt32(repeated, [t * n], labels.Device);
                return Ops.CrossEntropy(flat, rep, labelSmoothing);
            }
            default:
                throw new ArgumentOutOfRangeException(nameof(kind), kind, "loss: unknown kind");
        }
    }

    /// <summary>Parses a CLI loss name (<c>ce</c>, <c>tet</c>).</summary>
    public static LossKind Parse(string name) =>
        name switch
        {
            "ce" => LossKind.MeanCrossEntropy,
            "tet" => LossKind.Tet,
            _ => throw new ArgumentException(
                $"loss '{name}' is unknown; expected ce or tet",
                nameof(name)
            ),
        };
}
