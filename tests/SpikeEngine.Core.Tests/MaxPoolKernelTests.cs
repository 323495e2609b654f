using SpikeEngine.Cpu;
using Xunit;

namespace SpikeEngine.Tests;

/// <summary>
/// The CPU max pool (vector path for the window columns inside the row, strides 1 and 2; scalar
/// edges) against a plain loop: values and argmax bytes equal, with ties, NaN and infinities.
/// </summary>
public class MaxPoolKernelTests
{
    [Theory]
    [InlineData(7, 37, 3, 2, 1)] // the ImageNet stem pool, odd width
    [InlineData(9, 40, 3, 2, 1)]
    [InlineData(5, 33, 2, 2, 0)]
    [InlineData(6, 29, 3, 1, 1)]
    [InlineData(8, 64, 3, 1, 0)]
    [InlineData(4, 20, 1, 1, 0)]
    [InlineData(11, 50, 5, 2, 2)]
    [InlineData(3, 18, 3, 3, 1)] // stride 3: scalar only
    [InlineData(2, 3, 3, 2, 1)] // narrower than a vector
    public void EqualsAPlainLoop(int h, int w, int k, int s, int p)
    {
        var g = new PoolGeometry(1, h, w, k, k, s, s, p, p);
        var rng = new Random(h * 1000 + w);
        var x = new float[h * w];
        for (var i = 0; i < x.Length; i++)
        {
            x[i] = rng.Next(100) switch
            {
                0 => float.NaN,
                1 => float.NegativeInfinity,
                2 => float.PositiveInfinity,
                3 => -0f,
                _ => rng.Next(-3, 4), // ties within windows
            };
        }
        var y = new float[g.OutH * g.OutW];
        var arg = new byte[y.Length];
        CpuBackend.MaxPoolPlane(x, y, arg, g);
        for (var i = 0; i < g.OutH; i++)
        for (var j = 0; j < g.OutW; j++)
        {
            var best = float.NegativeInfinity;
            var bestK = 0;
            for (var kh = 0; kh < k; kh++)
            for (var kw = 0; kw < k; kw++)
            {
                int ih = i * s - p + kh,
                    iw = j * s - p + kw;
                if (ih < 0 || ih >= h || iw < 0 || iw >= w)
                    continue;
                var v = x[ih * w + iw];
                if (v > best || float.IsNaN(v))
                    (best, bestK) = (v, kh * k + kw);
            }
            var o = i * g.OutW + j;
            Assert.True(
                BitConverter.SingleToInt32Bits(best) == BitConverter.SingleToInt32Bits(y[o])
                    || (float.IsNaN(best) && float.IsNaN(y[o])),
                $"output ({i}, {j}): {y[o]}, expected {best}"
            );
            Assert.True(bestK == arg[o], $"argmax ({i}, {j}): {arg[o]}, expected {bestK}");
        }
    }

    // A window of −∞ keeps argmax 0, which lies in the padding for every window that starts in
    // it: that gradient is dropped (the CUDA kernel never finds it) and nothing is written
    // outside the input. Of the 2×2 outputs of a 4×4 plane only (1, 1) starts inside, at (1, 1).
    [Fact]
    public void AWindowOfMinusInfinityInThePaddingDropsItsGradient()
    {
        using var scope = TensorScope.Begin();
        var x = Tensor.Full([2, 1, 4, 4], float.NegativeInfinity);
        x.RequiresGrad = true;
        var y = Ops.MaxPool2d(x, 3, 2, 1);
        Assert.All(y.ToArray(), v => Assert.Equal(float.NegativeInfinity, v));
        y.Sum().Backward();
        var gx = x.Grad!.ToArray();
        Assert.Equal(2f, gx.Sum());
        Assert.Equal(1f, gx[5]);
        Assert.Equal(1f, gx[16 + 5]);
    }
}
