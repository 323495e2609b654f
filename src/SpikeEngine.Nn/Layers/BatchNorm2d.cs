namespace SpikeEngine.Nn;

/// <summary>
/// Batch normalisation over the channels of <c>[N, C, H, W]</c> or multi-step
/// <c>[T, N, C, H, W]</c>. Multi-step input folds time into the batch, so statistics run over
/// T·N·H·W per channel (SpikingJelly's multi-step BN, tdBN without the threshold scaling).
/// Weight 1 and bias 0 at start; running mean 0, running variance 1.
/// </summary>
public sealed class BatchNorm2d : Layer
{
    public BatchNorm2d(int channels, float momentum = 0.1f, float eps = 1e-5f)
    {
        if (channels <= 0)
            throw new ArgumentException(
                $"BatchNorm2d: channels must be positive, got {channels}",
                nameof(channels)
            );
        if (!(momentum >= 0f && momentum <= 1f))
            throw new ArgumentException(
                $"BatchNorm2d: momentum must be in [0, 1], got {momentum}",
                nameof(momentum)
            );
        if (!(eps > 0f))
            throw new ArgumentException(
                $"BatchNorm2d: eps must be positive, got {eps}",
                nameof(eps)
            );
        Channels = channels;
        Momentum = momentum;
        Eps = eps;
        Weight = NewParameter("weight", [channels], () => Tensor.Ones([channels]));
        Bias = NewParameter("bias", [channels], () => Tensor.Zeros([channels]));
        RunningMean = NewBuffer("running_mean", () => Tensor.Zeros([channels]));
        RunningVar = NewBuffer("running_var", () => Tensor.Ones([channels]));
    }

    public int Channels { get; }
    public float Momentum { get; }
    public float Eps { get; }

    /// <summary>γ (C)</summary>
    public Tensor Weight { get; }

    /// <summary>β (C)</summary>
    public Tensor Bias { get; }

    /// <summary>(C)</summary>
    public Tensor RunningMean { get; }

    /// <summary>(C)</summary>
    public Tensor RunningVar { get; }

    /// <summary>
    /// Batch statistics across processes in training mode (synchronised BN for data-parallel
    /// training); null normalises with this process's batch alone. A chain step that fuses this
    /// BN with its neighbour (<see cref="ModuleChain"/>) runs the modules one by one while it is
    /// set, since the fused ops take local statistics.
    /// </summary>
    public IBatchNormSync? Sync { get; set; }

    /// <summary>Sets γ to 0, so the layer starts by outputting β (zero-init of a block's last BN).</summary>
    public void ZeroInitWeight()
    {
        if (!IsShapeOnly)
            Weight.Fill_(0f);
    }

    public override Tensor Forward(Tensor x) // (N, C, H, W) or (T, N, C, H, W)
    {
        ThrowIfShapeOnly("BatchNorm2d");
        using var owner = GraphRecorder.Enter(this);
        var statistics = IsTraining ? Recompute.Statistics(this) : null;
        return SeqToBatch.Apply(
            "BatchNorm2d",
            x,
            4,
            f =>
                IsTraining && Sync is { } sync
                    ? sync.Forward(this, f)
                    : Ops.BatchNorm(
                        f,
                        Weight,
                        Bias,
                        RunningMean,
                        RunningVar,
                        IsTraining,
                        Momentum,
                        Eps,
                        statistics
                    )
        );
    }

    public override int[] InferShape(int[] shape, ShapeTrace trace) =>
        SeqToBatch.InferApply(
            "BatchNorm2d",
            shape,
            4,
            s =>
            {
                if (s[1] != Channels)
                    throw new ArgumentException(
                        $"BatchNorm2d: input has {s[1]} channels ({ShapeTrace.Format(shape)}), the layer expects {Channels}",
                        nameof(shape)
                    );
                trace.Kept(shape);
                trace.BatchStatistics(Channels);
                return (int[])s.Clone();
            }
        );
}

/// <summary>
/// Training-mode batch normalisation whose statistics span several processes (see
/// <see cref="BatchNorm2d.Sync"/>): the implementation reduces the per-channel sums across the
/// process group, normalises with the global mean and variance, updates the running statistics,
/// and reduces the statistics' gradients in backward.
/// </summary>
public interface IBatchNormSync
{
    /// <summary>Normalises <paramref name="x"/> (N, C, H, W) (time folded into N) with <paramref name="layer"/>'s γ, β, ε and momentum.</summary>
    Tensor Forward(BatchNorm2d layer, Tensor x);
}
