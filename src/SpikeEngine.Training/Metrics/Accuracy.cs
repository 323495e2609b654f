namespace SpikeEngine.Training.Metrics;

/// <summary>
/// Top-k hits of a classifier's output, computed with tensor ops and backend primitives on the
/// output's device: only the counts come back to the host (one scalar per k).
/// </summary>
public static class Accuracy
{
    /// <summary>
    /// For each k of <paramref name="topK"/>, the samples whose label is among the top-k classes of
    /// the output summed over T. A class above the label is one with a larger sum, or an equal sum
    /// and a smaller index (argmax picks the first), so ties count against the label.
    /// </summary>
    public static long[] CountCorrect(
        Tensor output, // (T, N, K) logits per step
        Tensor labels, // (N) int32, on the output's device
        params int[] topK
    )
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(labels);
        if (output.Rank != 3)
            throw new ArgumentException(
                $"accuracy: output {output.Describe()} must be (T, N, K)",
                nameof(output)
            );
        int n = output.Shape[1],
            k = output.Shape[2];
        if (labels.DType != DType.Int32 || labels.Numel != n || labels.Device != output.Device)
            throw new ArgumentException(
                $"accuracy: labels {labels.Describe()} must be {n} int32 values on {output.Device}",
                nameof(labels)
            );
        var device = output.Device;
        var be = Backends.For(device);
        using var noGrad = GradMode.NoGrad();
        using var scope = TensorScope.Begin();
        var sum = output.Sum([0]); // (N, K)
        var label = Tensor.Empty([n], device);
        be.Convert(labels, label);
        var classes = Tensor.FromArray(
            [.. Enumerable.Range(0, k).Select(c => (float)c)],
            [k],
            device: device
        );
        var labelRows = Tensor.Empty([n, k], device);
        be.Expand(label, n, k, 1, labelRows); // labelRows[i, c] = label[i]
        var classRows = Tensor.Empty([n, k], device);
        be.Expand(classes, 1, n, k, classRows); // classRows[i, c] = c
        var d = classRows - labelRows; // exact small integers
        var isLabel = d.Heaviside() * (-d).Heaviside(); // [c == label], with Θ(0) = 1
        var belowLabel = 1f - d.Heaviside(); // [c < label]
        var target = (sum * isLabel).Sum([1]); // (N): the label's sum
        var targetRows = Tensor.Empty([n, k], device);
        be.Expand(target, n, k, 1, targetRows);
        var e = sum - targetRows; // 0 exactly when equal
        var greater = 1f - (-e).Heaviside();
        var equal = e.Heaviside() * (-e).Heaviside();
        var above = (greater + belowLabel * equal).Sum([1]); // (N) classes ranked above the label
        var counts = new long[topK.Length];
        for (int j = 0; j < topK.Length; j++)
        {
            var hits = (1f - (above - topK[j]).Heaviside()).Sum(); // [above < k]
            var h = hits.Item();
            counts[j] = float.IsFinite(h) ? (long)h : 0;
        }
        return counts;
    }
}
