using SpikeEngine.Cpu;
using Xunit;

namespace SpikeEngine.Tests;

/// <summary>The event-driven (spike-sparse) convolution equals the dense one: forward and weight gradient.</summary>
public class EventDrivenConvTests
{
    public static TheoryData<double, int, int> Cases =>
        new()
        {
            { 0.0, 1, 1 },
            { 0.05, 1, 1 },
            { 0.15, 2, 1 },
            { 0.25, 1, 0 },
            { 0.6, 1, 1 },
            { 1.0, 1, 1 },
        };

    [Theory]
    [MemberData(nameof(Cases))]
    public void MatchesDenseOnRandomSpikes(double density, int stride, int padding)
    {
        using var scope = TensorScope.Begin();
        var u = Tensor.Uniform([3, 5, 9, 7], seed: (ulong)(density * 1000) + 1);
        var x = ((float)density - u).Heaviside(); // 1 with probability `density`
        Assert.InRange(SpikeConv.Density(x.Span()), density - 0.1, density + 0.1);
        var w = Tensor.Normal([6, 5, 3, 3], seed: 2);
        var g = Ops.ConvGeometryOf(x, w, (stride, stride), (padding, padding), (1, 1));
        var gy = Tensor.Normal([3, 6, g.OutH, g.OutW], seed: 3);
        var be = CpuBackend.Instance;

        var yDense = Tensor.Empty([3, 6, g.OutH, g.OutW]);
        var ySparse = Tensor.Empty([3, 6, g.OutH, g.OutW]);
        var before = CpuBackend.EventDrivenConvCalls;
        be.Conv2dForward(x, w, yDense, g, eventDriven: false);
        be.Conv2dForward(x, w, ySparse, g, eventDriven: true);
        GradCheck.AssertClose("forward", ySparse.ToArray(), yDense.ToArray(), 1e-5, 1e-5);

        var gwDense = Tensor.Empty([6, 5, 3, 3]);
        var gwSparse = Tensor.Empty([6, 5, 3, 3]);
        be.Conv2dBackwardFilter(x, gy, gwDense, g, eventDriven: false);
        be.Conv2dBackwardFilter(x, gy, gwSparse, g, eventDriven: true);
        GradCheck.AssertClose("weight gradient", gwSparse.ToArray(), gwDense.ToArray(), 1e-4, 1e-5);
        Assert.True(
            CpuBackend.EventDrivenConvCalls >= before + 2,
            "the event-driven path did not run"
        );
    }

    [Fact]
    public void NonBinarySparseInputsAreExactToo()
    {
        using var scope = TensorScope.Begin();
        var mask = (0.2f - Tensor.Uniform([2, 3, 6, 6], seed: 5)).Heaviside();
        var x = mask * Tensor.Normal([2, 3, 6, 6], seed: 6);
        var w = Tensor.Normal([4, 3, 3, 3], seed: 7);
        var g = Ops.ConvGeometryOf(x, w, (1, 1), (1, 1), (2, 2));
        var a = Tensor.Empty([2, 4, g.OutH, g.OutW]);
        var b = Tensor.Empty([2, 4, g.OutH, g.OutW]);
        CpuBackend.Instance.Conv2dForward(x, w, a, g, eventDriven: false);
        CpuBackend.Instance.Conv2dForward(x, w, b, g, eventDriven: true);
        GradCheck.AssertClose("forward", b.ToArray(), a.ToArray(), 1e-5, 1e-5);
    }
}
