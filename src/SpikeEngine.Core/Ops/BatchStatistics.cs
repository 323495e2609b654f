namespace SpikeEngine;

/// <summary>
/// Where a training batch norm takes its batch statistics from: computed from the batch (the
/// default), handed afterwards to <see cref="Computed"/> when it is set; or <see cref="Given"/>
/// (the mean and inverse standard deviation an earlier step over the same input computed), used as
/// they are with no running statistics updated. A recomputed segment's first pass keeps what its
/// BNs computed and its replay gives it back, so the replay normalises exactly as the first pass
/// did without a pass over the data.
/// </summary>
public sealed class BatchStatistics
{
    /// <summary>Mean and inverse standard deviation to use, [C] each; null computes them.</summary>
    public (Tensor Mean, Tensor InvStd)? Given { get; init; }

    /// <summary>
    /// Called with the computed mean and inverse standard deviation; the callee keeps new handles
    /// (<see cref="Tensor.Alias"/>) on what it needs, as nothing writes them afterwards.
    /// </summary>
    public Action<Tensor, Tensor>? Computed { get; init; }
}

public static partial class Ops
{
    // The training step of a BN over a [n, channels, inner] view into y, with the statistics of
    // `statistics` (computed by default); returns the mean and inverse std it used (new tensors).
    internal static (Tensor Mean, Tensor InvStd) BatchNormStep(
        string op,
        Tensor x,
        Tensor gamma,
        Tensor beta,
        Tensor y,
        Tensor? runningMean,
        Tensor? runningVar,
        int n,
        int channels,
        int inner,
        float momentum,
        float eps,
        BatchStatistics? statistics
    )
    {
        var be = x.Backend;
        if (statistics?.Given is { } given)
        {
            foreach (var (name, t) in new[] { ("mean", given.Mean), ("invStd", given.InvStd) })
            {
                if (
                    t.Shape != new Shape(channels)
                    || t.DType != DType.Float32
                    || t.Device != x.Device
                )
                    throw new ArgumentException(
                        $"{op}: given batch statistic '{name}' must be float32 [{channels}] on {x.Device}, got {t.Describe()}",
                        nameof(statistics)
                    );
            }
            // New handles on the given vectors (read only, by this step and its node).
            var gm = given.Mean.Alias();
            var gi = given.InvStd.Alias();
            be.BatchNormApply(x, gamma, beta, gm, gi, y, n, channels, inner);
            return (gm, gi);
        }
        var mean = Tensor.Empty(new Shape(channels), x.Device);
        var invStd = Tensor.Empty(new Shape(channels), x.Device);
        be.BatchNormTrain(
            x,
            gamma,
            beta,
            y,
            mean,
            invStd,
            runningMean,
            runningVar,
            n,
            channels,
            inner,
            momentum,
            eps
        );
        statistics?.Computed?.Invoke(mean, invStd);
        return (mean, invStd);
    }
}
