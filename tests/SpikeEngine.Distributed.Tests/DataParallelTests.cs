using SpikeEngine.Distributed.Mpi;
using SpikeEngine.Nn;

namespace SpikeEngine.Distributed.Tests;

/// <summary>
/// <see cref="DistributedDataParallel"/> and <see cref="SyncBatchNorm"/> on a real one-rank MPI
/// group: buckets partition the parameters in reverse order under the size cap, buckets start
/// during backward, and synchronised BN equals the engine's batch-norm op.
/// </summary>
[Collection("mpi")]
public class DataParallelTests
{
    private sealed class Net : Module
    {
        public Net()
        {
            Conv = Child("conv", new Conv2d(2, 4, 3, padding: 1, bias: false, seed: 3));
            Bn = Child("bn", new BatchNorm2d(4));
            Fc = Child("fc", new Linear(4 * 4 * 4, 3, seed: 4));
        }

        public Conv2d Conv { get; }
        public BatchNorm2d Bn { get; }
        public Linear Fc { get; }

        public override Tensor Forward(Tensor x) =>
            Fc.Forward(Bn.Forward(Conv.Forward(x)).Relu().Flatten());

        public override int[] InferShape(int[] shape, ShapeTrace trace) =>
            Fc.InferShape([shape[0], 4 * 4 * 4], trace);
    }

    private static Tensor Input() => Tensor.Normal([5, 2, 4, 4], seed: 9);

    private static Dictionary<string, float[]> Grads(Net net) =>
        net.NamedParameters().ToDictionary(p => p.Name, p => p.Tensor.Grad!.ToArray());

    [Fact]
    public void BucketsFollowReverseParameterOrderUnderTheCap()
    {
        var g = MpiRequirement.Group();
        using var net = new Net();
        // conv 72, bn 4 + 4, fc 192 + 3 floats; cap 195 floats.
        using var ddp = new DistributedDataParallel(
            g,
            net,
            new DataParallelOptions { BucketBytes = 195 * sizeof(float) }
        );
        var names = net.NamedParameters()
            .ToDictionary<(string Name, Tensor Tensor), Tensor, string>(
                p => p.Tensor,
                p => p.Name,
                ReferenceEqualityComparer.Instance
            );
        var buckets = Enumerable
            .Range(0, ddp.BucketCount)
            .Select(i => ddp.BucketParameters(i).Select(p => names[p]).ToArray())
            .ToList();
        Assert.Equal(
            [
                ["fc.bias", "fc.weight"],
                ["bn.bias", "bn.weight", "conv.weight"],
            ],
            buckets
        );
    }

    [Fact]
    public void BucketsStartDuringBackwardAndGradientsMatchOneProcess()
    {
        var g = MpiRequirement.Group();
        Dictionary<string, float[]> reference;
        using (var net = new Net())
        using (var scope = TensorScope.Begin())
        {
            net.Forward(Input()).Square().Mean().Backward();
            reference = Grads(net);
        }
        using var net2 = new Net();
        using var ddp = new DistributedDataParallel(
            g,
            net2,
            new DataParallelOptions { BucketBytes = 100 * sizeof(float) }
        );
        Assert.True(ddp.BucketCount >= 3);
        // The first parameter's gradient is the last one backward produces: when it is final,
        // the buckets of the later layers must already be in flight.
        long submittedBefore = g.CollectiveCount;
        long seenAtConv = -1;
        var conv = net2.Conv.Weight;
        var ddpHook = conv.OnGradFinal!;
        conv.OnGradFinal = t =>
        {
            seenAtConv = g.CollectiveCount - submittedBefore;
            ddpHook(t);
        };
        using (var scope = TensorScope.Begin())
        {
            net2.Forward(Input()).Square().Mean().Backward();
            ddp.FinishGradients();
        }
        Assert.Equal(ddp.BucketCount - 1, seenAtConv);
        Assert.Equal(1, ddp.Stats.Steps);
        foreach (var (name, grad) in Grads(net2))
            Assert.Equal(reference[name], grad);
    }

    [Fact]
    public void SyncBatchNormOnOneRankEqualsBatchNorm()
    {
        var g = MpiRequirement.Group();
        var x0 = Tensor.Normal([6, 3, 4, 5], seed: 2).ToArray();
        float[] upstream = Tensor.Normal([6, 3, 4, 5], seed: 5).ToArray();
        (float[] Y, float[] Dx, float[] Dw, float[] Db, float[] Rm, float[] Rv) Run(bool sync)
        {
            using var scope = TensorScope.Begin();
            using var bn = new BatchNorm2d(3, momentum: 0.2f);
            bn.Weight.CopyFrom([1.5f, -0.5f, 2f]);
            bn.Bias.CopyFrom([0.1f, 0.2f, -0.3f]);
            if (sync)
                bn.Sync = new SyncBatchNorm(g);
            var x = Tensor.FromArray(x0, [6, 3, 4, 5], requiresGrad: true);
            var y = bn.Forward(x);
            (y * Tensor.FromArray(upstream, [6, 3, 4, 5])).Sum().Backward();
            return (
                y.ToArray(),
                x.Grad!.ToArray(),
                bn.Weight.Grad!.ToArray(),
                bn.Bias.Grad!.ToArray(),
                bn.RunningMean.ToArray(),
                bn.RunningVar.ToArray()
            );
        }
        var a = Run(sync: false);
        var b = Run(sync: true);
        Close("y", a.Y, b.Y);
        Close("dx", a.Dx, b.Dx);
        Close("dgamma", a.Dw, b.Dw);
        Close("dbeta", a.Db, b.Db);
        Close("running_mean", a.Rm, b.Rm);
        Close("running_var", a.Rv, b.Rv);
    }

    private static void Close(string what, float[] expected, float[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            var tol = 2e-5f + 2e-4f * Math.Abs(expected[i]);
            Assert.True(
                Math.Abs(expected[i] - actual[i]) <= tol,
                $"{what}[{i}]: batch norm {expected[i]}, sync batch norm {actual[i]}"
            );
        }
    }
}
