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

/// <summary>
/// A loss over time-major classifier outputs: <see cref="Compute"/> maps the network output
/// <c>[T, N, K]</c> and int32 labels <c>[N]</c> to a <c>[1]</c> tensor. The objects behind
/// <see cref="LossKind"/>: <see cref="MeanCrossEntropyLoss"/> and <see cref="TetLoss"/>.
/// </summary>
public abstract class Loss
{
    /// <param name="labelSmoothing">ε in [0, 1) (checked by <see cref="Ops.CrossEntropy"/>).</param>
    protected Loss(float labelSmoothing) => LabelSmoothing = labelSmoothing;

    /// <summary>Label smoothing ε of the cross-entropy.</summary>
    public float LabelSmoothing { get; }

    /// <summary>The loss of <paramref name="output"/> [T, N, K] against <paramref name="labels"/> [N] (int32).</summary>
    public Tensor Compute(Tensor output, Tensor labels)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(labels);
        if (output.Rank != 3)
            throw new ArgumentException(
                $"loss: output must be [T, N, classes], got {output.Shape}",
                nameof(output)
            );
        if (labels.Rank != 1 || labels.Shape[0] != output.Shape[1])
            throw new ArgumentException(
                $"loss: labels must be [{output.Shape[1]}] to match output {output.Shape}, got {labels.Shape}",
                nameof(labels)
            );
        return Apply(output, labels);
    }

    /// <summary>The loss on validated input.</summary>
    protected abstract Tensor Apply(Tensor output, Tensor labels);

    /// <summary>The loss object of <paramref name="kind"/>.</summary>
    public static Loss For(LossKind kind, float labelSmoothing = 0f) =>
        kind switch
        {
            LossKind.MeanCrossEntropy => new MeanCrossEntropyLoss(labelSmoothing),
            LossKind.Tet => new TetLoss(labelSmoothing),
            _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "loss: unknown kind"),
        };
}

/// <summary>Cross-entropy of the mean output over T: <c>CE(mean_t o_t, y)</c>.</summary>
public sealed class MeanCrossEntropyLoss(float labelSmoothing = 0f) : Loss(labelSmoothing)
{
    protected override Tensor Apply(Tensor output, Tensor labels)
    {
        using var mean = output.Mean([0]);
        return Ops.CrossEntropy(mean, labels, LabelSmoothing);
    }
}

/// <summary>
/// TET (Deng et al., ICLR 2022, "Temporal Efficient Training"): per-step cross-entropy averaged
/// over T, <c>(1/T) Σ_t CE(o_t, y)</c>.
/// </summary>
public sealed class TetLoss(float labelSmoothing = 0f) : Loss(labelSmoothing)
{
    protected override Tensor Apply(Tensor output, Tensor labels)
    {
        int t = output.Shape[0],
            n = output.Shape[1],
            k = output.Shape[2];
        // Every step has N rows, so the mean over the T·N rows is the mean over t of the
        // per-step means.
        using var flat = output.Reshape(t * n, k);
        var host = labels.ToInt32Array();
        var repeated = new int[t * n];
        for (int s = 0; s < t; s++)
            host.CopyTo(repeated, s * n);
        using var rep = Tensor.FromInt32(repeated, [t * n], labels.Device);
        return Ops.CrossEntropy(flat, rep, LabelSmoothing);
    }
}

/// <summary>Losses over time-major classifier outputs, by kind.</summary>
public static class Losses
{
    /// <summary>
    /// The loss of <paramref name="output"/> [T, N, K] against int32 <paramref name="labels"/> [N]
    /// with label smoothing ε (<see cref="Loss.For"/>). Returns a [1] tensor.
    /// </summary>
    public static Tensor Compute(
        Tensor output,
        Tensor labels,
        LossKind kind,
        float labelSmoothing = 0f
    ) => Loss.For(kind, labelSmoothing).Compute(output, labels);

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
