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
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(8)]
    [InlineData(17)]
    [InlineData(1000)]
    [InlineData(300_001)] // split across workers
    public void DensityCountsLikeAPlainLoop(int n)
    {
        var rng = new Random(n + 1);
        var a = new float[n + 5];
        for (var i = 0; i < a.Length; i++)
            a[i] = rng.Next(6) switch
            {
                0 => 1f,
                1 => -0f,
                2 => float.NaN,
                3 => float.Epsilon,
                4 => -2.5f,
                _ => 0f,
            };
        long plain = 0;
        for (var i = 3; i < 3 + n; i++)
        {
            if (a[i] != 0f)
                plain++;
        }
        Assert.Equal(plain, SpikeConv.CountNonZero(a.AsSpan(3, n)));
        var expected = n == 0 ? 0 : (double)plain / n;
        Assert.Equal(expected, SpikeConv.Density(a.AsSpan(3, n)));
        Assert.Equal(expected, SpikeConv.Density(a, 3, n));
    }

    [Theory]
    [InlineData(1, 1, 1, 1)]
    [InlineData(7, 9, 9, 7)]
    [InlineData(8, 8, 8, 8)]
    [InlineData(17, 33, 40, 24)]
    [InlineData(64, 1024, 1024, 64)] // a layer's gy: K rows of OH·OW
    [InlineData(24, 16, 1030, 72)] // strided rows, padded destination rows
    public void TransposeMovesEveryElementToItsPlace(
        int rows,
        int cols,
        int srcStride,
        int dstStride
    )
    {
        var rng = new Random(rows * 31 + cols);
        var src = new float[(rows - 1) * srcStride + cols];
        for (var i = 0; i < src.Length; i++)
            src[i] = (float)rng.NextDouble();
        var dst = new float[(cols - 1) * dstStride + rows + 3];
        var expected = new float[dst.Length];
        Array.Fill(dst, -7f);
        Array.Fill(expected, -7f);
        for (var i = 0; i < rows; i++)
        for (var j = 0; j < cols; j++)
            expected[j * dstStride + i] = src[i * srcStride + j];
        SpikeConv.Transpose(src, srcStride, dst, dstStride, rows, cols);
        Assert.Equal(expected, dst); // moves only: exact, and nothing outside the block written
    }

    [Fact]
    public void TransposeNamesTheOperandThatIsTooShort()
    {
        var e = Assert.Throws<ArgumentException>(() =>
            SpikeConv.Transpose(new float[10], 4, new float[64], 8, 3, 4)
        );
        Assert.Contains(
            "Transpose: 3 rows of 4 at stride 4 need 12 source elements, got 10",
            e.Message
        );
    }

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

    // (N, C, H, W, K, kernel, stride, padding, dilation, density): odd sizes, stride 2, padding 0
    // and 2, dilation 2, 1×1 and 5×3 kernels, C above 64 (two mask words), K not a multiple of
    // the vector width and above 8 vectors (a block of registers plus a remainder).
    public static TheoryData<int, int, int, int, int, (int, int), int, int, int, double> Shapes =>
        new()
        {
            { 2, 3, 11, 13, 5, (3, 3), 2, 0, 1, 0.2 },
            { 1, 7, 9, 10, 70, (3, 3), 1, 2, 2, 0.15 },
            { 2, 70, 6, 5, 9, (3, 3), 2, 1, 1, 0.25 },
            { 1, 4, 8, 8, 3, (1, 1), 1, 0, 1, 0.3 },
            { 1, 5, 10, 9, 17, (5, 3), 1, 1, 1, 0.1 },
            { 2, 66, 7, 7, 64, (3, 3), 1, 1, 1, 1.0 },
            { 2, 6, 7, 9, 8, (3, 3), 2, 1, 2, 0.0 },
            { 1, 70, 5, 19, 12, (3, 3), 1, 1, 1, 0.2 }, // rows of two vectors and a remainder
        };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void MatchesDenseOnAwkwardShapes(
        int n,
        int c,
        int h,
        int wd,
        int k,
        (int, int) kernel,
        int stride,
        int padding,
        int dilation,
        double density
    )
    {
        using var scope = TensorScope.Begin();
        var x = (
            (float)density - Tensor.Uniform([n, c, h, wd], seed: (ulong)(c * 31 + k))
        ).Heaviside();
        var w = Tensor.Normal([k, c, kernel.Item1, kernel.Item2], seed: 9);
        var g = Ops.ConvGeometryOf(
            x,
            w,
            (stride, stride),
            (padding, padding),
            (dilation, dilation)
        );
        var gy = Tensor.Normal([n, k, g.OutH, g.OutW], seed: 10);
        var be = CpuBackend.Instance;
        var yDense = Tensor.Empty([n, k, g.OutH, g.OutW]);
        var ySparse = Tensor.Empty([n, k, g.OutH, g.OutW]);
        be.Conv2dForward(x, w, yDense, g, eventDriven: false);
        be.Conv2dForward(x, w, ySparse, g, eventDriven: true);
        // Summation order differs: allow float rounding of a sum of C·KH·KW (forward) or
        // N·OH·OW (weight gradient) terms of magnitude about 1.
        var ckk = c * kernel.Item1 * kernel.Item2;
        GradCheck.AssertClose(
            "forward",
            ySparse.ToArray(),
            yDense.ToArray(),
            Math.Max(1e-5, 1e-6 * ckk),
            1e-5
        );
        var gwDense = Tensor.Empty([k, c, kernel.Item1, kernel.Item2]);
        var gwSparse = Tensor.Empty([k, c, kernel.Item1, kernel.Item2]);
        be.Conv2dBackwardFilter(x, gy, gwDense, g, eventDriven: false);
        be.Conv2dBackwardFilter(x, gy, gwSparse, g, eventDriven: true);
        GradCheck.AssertClose(
            "weight gradient",
            gwSparse.ToArray(),
            gwDense.ToArray(),
            Math.Max(1e-4, 1e-6 * n * g.OutH * g.OutW),
            1e-5
        );
    }

    [Theory]
    [InlineData(6)]
    [InlineData(19)] // rows of two vectors and a remainder
    public void NonBinarySparseInputsAreExactToo(int width)
    {
        using var scope = TensorScope.Begin();
        var mask = (0.2f - Tensor.Uniform([2, 3, 6, width], seed: 5)).Heaviside();
        var x = mask * Tensor.Normal([2, 3, 6, width], seed: 6);
        var w = Tensor.Normal([4, 3, 3, 3], seed: 7);
        var g = Ops.ConvGeometryOf(x, w, (1, 1), (1, 1), (2, 2));
        var a = Tensor.Empty([2, 4, g.OutH, g.OutW]);
        var b = Tensor.Empty([2, 4, g.OutH, g.OutW]);
        CpuBackend.Instance.Conv2dForward(x, w, a, g, eventDriven: false);
        CpuBackend.Instance.Conv2dForward(x, w, b, g, eventDriven: true);
        GradCheck.AssertClose("forward", b.ToArray(), a.ToArray(), 1e-5, 1e-5);
        var gy = Tensor.Normal([2, 4, g.OutH, g.OutW], seed: 8);
        var gwA = Tensor.Empty([4, 3, 3, 3]);
        var gwB = Tensor.Empty([4, 3, 3, 3]);
        CpuBackend.Instance.Conv2dBackwardFilter(x, gy, gwA, g, eventDriven: false);
        CpuBackend.Instance.Conv2dBackwardFilter(x, gy, gwB, g, eventDriven: true);
        GradCheck.AssertClose("weight gradient", gwB.ToArray(), gwA.ToArray(), 1e-4, 1e-5);
    }
}
