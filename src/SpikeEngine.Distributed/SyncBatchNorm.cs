using SpikeEngine.Nn;

namespace SpikeEngine.Distributed;

/// <summary>
/// Synchronised batch normalisation (PyTorch's <c>SyncBatchNorm</c>) for
/// <see cref="BatchNorm2d.Sync"/>: per channel, the sums Σx and Σx² and the element count are
/// all-reduced over the group, giving the mean μ = Σx / n and biased variance σ² = Σx²/n − μ² of
/// the batch of all ranks together; y = γ (x − μ)/√(σ² + ε) + β is composed of differentiable ops,
/// so backward flows through the statistics, whose gradients the all-reduce's backward sums over
/// the ranks. The running statistics move with the global μ and the unbiased σ²·n/(n − 1). On
/// one rank it equals batch normalisation.
/// </summary>
public sealed class SyncBatchNorm(IProcessGroup group) : IBatchNormSync
{
    public Tensor Forward(BatchNorm2d layer, Tensor x) // x: (N, C, H, W)
    {
        ArgumentNullException.ThrowIfNull(layer);
        ArgumentNullException.ThrowIfNull(x);
        if (x.Rank != 4 || x.Shape[1] != layer.Channels)
            throw new ArgumentException(
                $"sync_batch_norm: x must be [N, {layer.Channels}, H, W], got {x.Shape}",
                nameof(x)
            );
        using var scope = TensorScope.Begin();
        int[] axes = [0, 2, 3];
        var localCount = (float)(x.Numel / layer.Channels);
        var sum = x.Sum(axes);
        var squares = x.Square().Sum(axes);
        var count = Tensor.Full([1], localCount, x.Device);
        var reduced = AllReduceSumNode.Apply(group, [sum, squares, count]);
        var n = reduced[2].Item();
        if (n < 2)
            throw new ArgumentException(
                $"sync_batch_norm: training needs more than one value per channel over all ranks, got {n}"
            );
        var mean = reduced[0] * (1f / n); // (C)
        var variance = (reduced[1] * (1f / n) - mean.Square()).Relu(); // (C), biased
        var std = (variance + layer.Eps).Sqrt();
        var scale = layer.Weight / std;
        var shift = layer.Bias - mean * scale;
        var y = Ops.ChannelAffine(x, scale, shift);
        using (GradMode.NoGrad())
        {
            var m = layer.Momentum;
            var rm = layer.RunningMean.ToArray();
            var rv = layer.RunningVar.ToArray();
            var mu = mean.ToArray();
            var v = variance.ToArray();
            var unbias = n / (n - 1);
            for (int c = 0; c < rm.Length; c++)
            {
                rm[c] = (1 - m) * rm[c] + m * mu[c];
                rv[c] = (1 - m) * rv[c] + m * v[c] * unbias;
            }
            layer.RunningMean.CopyFrom(rm);
            layer.RunningVar.CopyFrom(rv);
        }
        return scope.Keep(y);
    }
}

/// <summary>
/// A differentiable all-reduce (sum) of several tensors as one collective: forward sums each
/// input over the ranks; backward sums each output's gradient over the ranks (the gradient of
/// a replicated sum), again as one collective. Every rank runs both in the same order.
/// </summary>
internal sealed class AllReduceSumNode : Node
{
    private readonly IProcessGroup _group;
    private readonly int[][] _shapes;

    private AllReduceSumNode(IProcessGroup group, Tensor[] inputs)
        : base("all_reduce_sum", inputs)
    {
        _group = group;
        _shapes = [.. inputs.Select(t => t.Shape.ToArray())];
    }

    public override int OutputCount => _shapes.Length;

    public static Tensor[] Apply(IProcessGroup group, Tensor[] inputs)
    {
        var outputs = new Tensor[inputs.Length];
        var host = Reduce(group, inputs);
        int offset = 0;
        for (int i = 0; i < inputs.Length; i++)
        {
            var n = (int)inputs[i].Numel;
            outputs[i] = Tensor.Empty(inputs[i].Shape.ToArray(), inputs[i].Device);
            outputs[i].CopyFrom(host.AsSpan(offset, n));
            offset += n;
        }
        if (Autograd.IsNeeded(inputs))
            Autograd.Record(outputs, new AllReduceSumNode(group, inputs));
        return outputs;
    }

    private static float[] Reduce(IProcessGroup group, IReadOnlyList<Tensor> tensors)
    {
        var host = new float[tensors.Sum(t => t.Numel)];
        int offset = 0;
        foreach (var t in tensors)
        {
            var n = (int)t.Numel;
            Backends.For(t.Device).CopyToHost(t, host.AsSpan(offset, n));
            offset += n;
        }
        group.AllReduce(host, ReduceOp.Sum);
        return host;
    }

    protected internal override Tensor?[] Backward(Tensor?[] gradOutputs)
    {
        var device = Inputs[0]!.Device;
        var grads = new Tensor[gradOutputs.Length];
        for (int i = 0; i < grads.Length; i++)
            grads[i] = gradOutputs[i] is { } g ? g : Tensor.Zeros(_shapes[i], device);
        var host = Reduce(_group, grads);
        for (int i = 0; i < grads.Length; i++)
            if (gradOutputs[i] is null)
                grads[i].Dispose();
        var result = new Tensor?[_shapes.Length];
        int offset = 0;
        for (int i = 0; i < _shapes.Length; i++)
        {
            var n = _shapes[i].Aggregate(1, (a, b) => a * b);
            if (Inputs[i]!.RequiresGrad)
            {
                result[i] = Tensor.Empty(_shapes[i], device);
                result[i]!.CopyFrom(host.AsSpan(offset, n));
            }
            offset += n;
        }
        return result;
    }
}
