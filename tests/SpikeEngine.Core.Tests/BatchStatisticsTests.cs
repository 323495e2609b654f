using SpikeEngine.Cpu;
using Xunit;

namespace SpikeEngine.Tests;

/// <summary>
/// Batch norm with its batch statistics given (what a recomputed segment's replay does): the same
/// output and gradients bit for bit as computing them, and no running statistics updated.
/// </summary>
public class BatchStatisticsTests
{
    [Fact]
    public void ApplyWithTheComputedStatisticsEqualsTrainBitForBit()
    {
        using var scope = TensorScope.Begin();
        int n = 5,
            c = 3,
            inner = 37;
        var x = Tensor.Normal([n, c, inner], 1.5f, 2f, seed: 3);
        var gamma = Tensor.Normal([c], 1f, 0.3f, seed: 4);
        var beta = Tensor.Normal([c], 0f, 1f, seed: 5);
        var be = CpuBackend.Instance;
        var y = Tensor.EmptyLike(x);
        var mean = Tensor.Empty([c]);
        var invStd = Tensor.Empty([c]);
        be.BatchNormTrain(x, gamma, beta, y, mean, invStd, null, null, n, c, inner, 0.1f, 1e-5f);
        var applied = Tensor.EmptyLike(x);
        be.BatchNormApply(x, gamma, beta, mean, invStd, applied, n, c, inner);
        Assert.Equal(y.ToArray(), applied.ToArray());
        // In place too (y over x).
        var inPlace = x.ToDType(DType.Float32);
        be.BatchNormApply(inPlace, gamma, beta, mean, invStd, inPlace, n, c, inner);
        Assert.Equal(y.ToArray(), inPlace.ToArray());
    }

    [Fact]
    public void GivenStatisticsGiveTheSameOutputAndGradientsAndLeaveRunningStatisticsAlone()
    {
        using var scope = TensorScope.Begin();
        var x = Tensor.Normal([4, 3, 5, 5], 0.5f, 1.5f, seed: 7);
        x.RequiresGrad = true;
        var gamma = Tensor.Normal([3], 1f, 0.2f, seed: 8);
        gamma.RequiresGrad = true;
        var beta = Tensor.Normal([3], 0f, 0.5f, seed: 9);
        beta.RequiresGrad = true;
        var gy = Tensor.Normal([4, 3, 5, 5], 0f, 1f, seed: 10);
        var rm = Tensor.Zeros([3]);
        var rv = Tensor.Ones([3]);
        (Tensor Mean, Tensor InvStd)? kept = null;
        var computed = new BatchStatistics
        {
            Computed = (m, s) => kept = (m.ToDType(DType.Float32), s.ToDType(DType.Float32)),
        };
        var y1 = Ops.BatchNorm(x, gamma, beta, rm, rv, true, statistics: computed);
        (y1 * gy).Sum().Backward();
        var (gx1, gg1, gb1) = (x.Grad!.ToArray(), gamma.Grad!.ToArray(), beta.Grad!.ToArray());
        var (rm1, rv1) = (rm.ToArray(), rv.ToArray());
        Assert.NotNull(kept);
        Assert.NotEqual(new float[3], rm1); // the computing step updated them
        x.Grad = gamma.Grad = beta.Grad = null;

        var y2 = Ops.BatchNorm(x, gamma, beta, rm, rv, true, statistics: new() { Given = kept });
        (y2 * gy).Sum().Backward();
        Assert.Equal(y1.ToArray(), y2.ToArray());
        Assert.Equal(gx1, x.Grad!.ToArray());
        Assert.Equal(gg1, gamma.Grad!.ToArray());
        Assert.Equal(gb1, beta.Grad!.ToArray());
        Assert.Equal(rm1, rm.ToArray()); // given statistics update nothing
        Assert.Equal(rv1, rv.ToArray());
    }

    [Fact]
    public void GivenStatisticsOfTheWrongShapeAreNamed()
    {
        using var scope = TensorScope.Begin();
        var x = Tensor.Normal([4, 3, 5, 5], seed: 7);
        var given = new BatchStatistics { Given = (Tensor.Zeros([4]), Tensor.Ones([3])) };
        var e = Assert.Throws<ArgumentException>(() =>
            Ops.BatchNorm(
                x,
                Tensor.Ones([3]),
                Tensor.Zeros([3]),
                Tensor.Zeros([3]),
                Tensor.Ones([3]),
                true,
                statistics: given
            )
        );
        Assert.Contains("batch_norm", e.Message, StringComparison.Ordinal);
        Assert.Contains("'mean'", e.Message, StringComparison.Ordinal);
        Assert.Contains("[4]", e.Message, StringComparison.Ordinal);
    }
}
