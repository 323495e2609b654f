using Xunit;
using static SpikeEngine.Tests.GradCheck;

namespace SpikeEngine.Tests;

/// <summary>Forward hand values and float64 finite-difference gradient checks of the NN primitives.</summary>
public class NnOpsTests
{
    // Float64 reference convolution (direct loops), groups = 1.
    internal static double[] ConvRef(
        double[] x,
        double[] w,
        int n,
        int c,
        int h,
        int wd,
        int k,
        int kh,
        int kw,
        int s,
        int p,
        int d
    )
    {
        var oh = (h + 2 * p - d * (kh - 1) - 1) / s + 1;
        var ow = (wd + 2 * p - d * (kw - 1) - 1) / s + 1;
        var y = new double[n * k * oh * ow];
        for (var b = 0; b < n; b++)
        for (var o = 0; o < k; o++)
        for (var i = 0; i < oh; i++)
        for (var j = 0; j < ow; j++)
        {
            double acc = 0;
            for (var ci = 0; ci < c; ci++)
            for (var a = 0; a < kh; a++)
            for (var e = 0; e < kw; e++)
            {
                var ih = i * s - p + a * d;
                var iw = j * s - p + e * d;
                if (ih < 0 || ih >= h || iw < 0 || iw >= wd)
                    continue;
                acc += x[((b * c + ci) * h + ih) * wd + iw] * w[((o * c + ci) * kh + a) * kw + e];
            }
            y[((b * k + o) * oh + i) * ow + j] = acc;
        }
        return y;
    }

    [Fact]
    public void Conv2d_HandValues()
    {
        using var scope = TensorScope.Begin();
        // 1×1×3×3 input 1..9, 2×2 kernel of ones, stride 1, no padding: window sums.
        var x = Tensor.FromArray([1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 1, 3, 3]);
        var w = Tensor.Ones([1, 1, 2, 2]);
        Assert.Equal(new float[] { 12, 16, 24, 28 }, Ops.Conv2d(x, w).ToArray());
        // Padding 1, stride 2: corners see a single 2×2 overlap each.
        Assert.Equal(
            new float[] { 1, 5, 11, 28 },
            Ops.Conv2d(x, w, null, stride: 2, padding: 1).ToArray()
        );
        var bias = Tensor.FromArray([10], [1]);
        Assert.Equal(new float[] { 22, 26, 34, 38 }, Ops.Conv2d(x, w, bias).ToArray());
    }

    [Theory]
    [InlineData(2, 3, 5, 5, 4, 3, 1, 1, 1)]
    [InlineData(1, 2, 6, 7, 3, 3, 2, 1, 1)]
    [InlineData(2, 2, 5, 5, 2, 1, 1, 0, 1)]
    [InlineData(1, 2, 7, 7, 2, 3, 1, 2, 2)]
    [InlineData(3, 1, 4, 4, 2, 2, 2, 0, 1)]
    public void Conv2d_MatchesFloat64ReferenceAndFiniteDifferences(
        int n,
        int c,
        int h,
        int w,
        int k,
        int ks,
        int s,
        int p,
        int d
    )
    {
        var x = Rand([n, c, h, w], 11);
        var wt = Rand([k, c, ks, ks], 12, std: 0.5f);
        Run(
            ts => Ops.Conv2d(ts[0], ts[1], null, s, p, d),
            xs => ConvRef(xs[0], xs[1], n, c, h, w, k, ks, ks, s, p, d),
            [x, wt]
        );
        x.Dispose();
        wt.Dispose();
    }

    [Fact]
    public void Conv2d_BiasGradient()
    {
        var x = Rand([2, 2, 4, 4], 1);
        var wt = Rand([3, 2, 3, 3], 2);
        var b = Rand([3], 3);
        Run(
            ts => Ops.Conv2d(ts[0], ts[1], ts[2], 1, 1),
            xs =>
            {
                var y = ConvRef(xs[0], xs[1], 2, 2, 4, 4, 3, 3, 3, 1, 1, 1);
                for (var i = 0; i < y.Length; i++)
                    y[i] += xs[2][i / 16 % 3];
                return y;
            },
            [x, wt, b]
        );
        x.Dispose();
        wt.Dispose();
        b.Dispose();
    }

    [Fact]
    public void Linear_HandValuesAndGradients()
    {
        using (var scope = TensorScope.Begin())
        {
            var x = Tensor.FromArray([1, 2, 3, 4, 5, 6], [2, 3]);
            var w = Tensor.FromArray([1, 0, -1, 2, 1, 0], [2, 3]);
            var b = Tensor.FromArray([0.5f, -1], [2]);
            Assert.Equal(new float[] { -1.5f, 3, -1.5f, 12 }, Ops.Linear(x, w, b).ToArray());
        }
        var xi = Rand([3, 4], 5);
        var wi = Rand([2, 4], 6);
        var bi = Rand([2], 7);
        Run(
            ts => Ops.Linear(ts[0], ts[1], ts[2]),
            xs =>
            {
                var y = new double[6];
                for (var i = 0; i < 3; i++)
                for (var o = 0; o < 2; o++)
                {
                    y[i * 2 + o] = xs[2][o];
                    for (var k = 0; k < 4; k++)
                        y[i * 2 + o] += xs[0][i * 4 + k] * xs[1][o * 4 + k];
                }
                return y;
            },
            [xi, wi, bi]
        );
        xi.Dispose();
        wi.Dispose();
        bi.Dispose();
    }

    [Fact]
    public void Pooling_HandValues()
    {
        using var scope = TensorScope.Begin();
        var x = Tensor.FromArray([1, 5, 2, 0, 3, 4, 8, 1, 0, 2, 6, 7, 9, 1, 3, 2], [1, 1, 4, 4]);
        Assert.Equal(new float[] { 5, 8, 9, 7 }, Ops.MaxPool2d(x, 2, 2).ToArray());
        Assert.Equal(new float[] { 3.25f, 2.75f, 3, 4.5f }, Ops.AvgPool2d(x, 2, 2).ToArray());
        Assert.Equal(new float[] { 54f / 16 }, Ops.AdaptiveAvgPool2d(x, 1, 1).ToArray());
        // 3×3 stride 2 pad 1 (the ImageNet stem pool): 2×2 output.
        Assert.Equal(new float[] { 5, 8, 9, 8 }, Ops.MaxPool2d(x, 3, 2, 1).ToArray());
    }

    [Fact]
    public void MaxPool_GradientGoesToTheMaximum()
    {
        var x = Tensor.FromArray(
            Enumerable.Range(0, 36).Select(i => (float)((i * 7) % 36) + 0.1f * i).ToArray(),
            [1, 1, 6, 6],
            requiresGrad: true
        );
        Run(
            ts => Ops.MaxPool2d(ts[0], 3, 2, 1),
            xs =>
            {
                var y = new double[9];
                for (var i = 0; i < 3; i++)
                for (var j = 0; j < 3; j++)
                {
                    var m = double.NegativeInfinity;
                    for (var a = -1; a < 2; a++)
                    for (var b = -1; b < 2; b++)
                    {
                        int r = i * 2 + a,
                            c = j * 2 + b;
                        if (r >= 0 && r < 6 && c >= 0 && c < 6)
                            m = Math.Max(m, xs[0][r * 6 + c]);
                    }
                    y[i * 3 + j] = m;
                }
                return y;
            },
            [x]
        );
        x.Dispose();
    }

    [Fact]
    public void AvgAndAdaptivePool_GradientsMatchFiniteDifferences()
    {
        var x = Rand([2, 2, 5, 5], 9);
        Run(
            ts => Ops.AdaptiveAvgPool2d(ts[0], 2, 3),
            xs =>
            {
                var y = new double[2 * 2 * 6];
                for (var p = 0; p < 4; p++)
                for (var i = 0; i < 2; i++)
                for (var j = 0; j < 3; j++)
                {
                    int h0 = i * 5 / 2,
                        h1 = ((i + 1) * 5 + 1) / 2,
                        w0 = j * 5 / 3,
                        w1 = ((j + 1) * 5 + 2) / 3;
                    double s = 0;
                    for (var a = h0; a < h1; a++)
                    for (var b = w0; b < w1; b++)
                        s += xs[0][p * 25 + a * 5 + b];
                    y[(p * 2 + i) * 3 + j] = s / ((h1 - h0) * (w1 - w0));
                }
                return y;
            },
            [x]
        );
        Run(
            ts => Ops.AvgPool2d(ts[0], 3, 2, 1),
            xs =>
            {
                var y = new double[4 * 9];
                for (var p = 0; p < 4; p++)
                for (var i = 0; i < 3; i++)
                for (var j = 0; j < 3; j++)
                {
                    double s = 0;
                    for (var a = -1; a < 2; a++)
                    for (var b = -1; b < 2; b++)
                    {
                        int r = i * 2 + a,
                            c = j * 2 + b;
                        if (r >= 0 && r < 5 && c >= 0 && c < 5)
                            s += xs[0][p * 25 + r * 5 + c];
                    }
                    y[(p * 3 + i) * 3 + j] = s / 9;
                }
                return y;
            },
            [x]
        );
        x.Dispose();
    }

    private static double[] BnRef(
        double[] x,
        double[] g,
        double[] b,
        int n,
        int c,
        int inner,
        double eps
    )
    {
        var y = new double[x.Length];
        for (var ch = 0; ch < c; ch++)
        {
            double m = 0,
                v = 0;
            for (var i = 0; i < n; i++)
            for (var j = 0; j < inner; j++)
                m += x[(i * c + ch) * inner + j];
            m /= n * inner;
            for (var i = 0; i < n; i++)
            for (var j = 0; j < inner; j++)
                v += Math.Pow(x[(i * c + ch) * inner + j] - m, 2);
            v /= n * inner;
            for (var i = 0; i < n; i++)
            for (var j = 0; j < inner; j++)
                y[(i * c + ch) * inner + j] =
                    g[ch] * (x[(i * c + ch) * inner + j] - m) / Math.Sqrt(v + eps) + b[ch];
        }
        return y;
    }

    [Fact]
    public void BatchNorm_Training_MatchesReferenceAndUpdatesRunningStats()
    {
        using (var scope = TensorScope.Begin())
        {
            // Channel 0 holds 1,3 / 5,7: mean 4, biased var 5, unbiased var 20/3.
            var x = Tensor.FromArray([1, 3, 10, 10, 5, 7, 10, 10], [2, 2, 2]);
            var rm = Tensor.Zeros([2]);
            var rv = Tensor.Ones([2]);
            var y = Ops.BatchNorm(
                x,
                Tensor.Ones([2]),
                Tensor.Zeros([2]),
                rm,
                rv,
                training: true,
                momentum: 0.5f,
                eps: 1e-12f
            );
            var s = (float)Math.Sqrt(5);
            AssertClose(
                "bn y",
                y.ToArray(),
                new[] { -3 / s, -1 / s, 0, 0, 1 / s, 3 / s, 0, 0 },
                1e-6,
                1e-6
            );
            AssertClose("running mean", rm.ToArray(), new float[] { 2, 5 }, 1e-6, 1e-6);
            AssertClose(
                "running var",
                rv.ToArray(),
                new[] { 0.5f + 0.5f * 20f / 3, 0.5f },
                1e-6,
                1e-6
            );
        }
        var xi = Rand([3, 2, 5], 4);
        var gi = Rand([2], 5);
        var bi = Rand([2], 6);
        var rmi = Tensor.Zeros([2]);
        var rvi = Tensor.Ones([2]);
        Run(
            ts => Ops.BatchNorm(ts[0], ts[1], ts[2], rmi, rvi, training: true),
            xs => BnRef(xs[0], xs[1], xs[2], 3, 2, 5, 1e-5),
            [xi, gi, bi],
            forwardTol: 1e-4,
            atol: 2e-4,
            rtol: 5e-3
        );
        foreach (var t in new[] { xi, gi, bi, rmi, rvi })
            t.Dispose();
    }

    // Rows longer than a vector with a ragged tail, and a mean far from zero against a small
    // spread (the variance is Σ (x - m)², not Σ x² - M m²): the vectorised passes against the
    // float64 reference and its finite differences.
    [Fact]
    public void BatchNorm_Training_LongRowsWithLargeMean()
    {
        var xi = TensorScope.Unscoped(Tensor.Normal([2, 3, 45], 30f, 0.5f, 8, requiresGrad: true));
        var gi = Rand([3], 9);
        var bi = Rand([3], 10);
        var rm = Tensor.Zeros([3]);
        var rv = Tensor.Ones([3]);
        Run(
            ts => Ops.BatchNorm(ts[0], ts[1], ts[2], rm, rv, training: true),
            xs => BnRef(xs[0], xs[1], xs[2], 2, 3, 45, 1e-5),
            [xi, gi, bi],
            forwardTol: 1e-3,
            atol: 2e-3,
            rtol: 5e-3
        );
        foreach (var t in new[] { xi, gi, bi, rm, rv })
            t.Dispose();
    }

    [Fact]
    public void BatchNorm_Eval_UsesRunningStatsAndBackpropagates()
    {
        var xi = Rand([2, 3, 4], 4);
        var gi = Rand([3], 5);
        var bi = Rand([3], 6);
        var rm = TensorScope.Unscoped(Tensor.FromArray([0.1f, -0.2f, 0.3f], [3]));
        var rv = TensorScope.Unscoped(Tensor.FromArray([0.5f, 2f, 1.5f], [3]));
        Run(
            ts => Ops.BatchNorm(ts[0], ts[1], ts[2], rm, rv, training: false),
            xs =>
            {
                var y = new double[24];
                double[] m = [0.1, -0.2, 0.3],
                    v = [0.5, 2, 1.5];
                for (var i = 0; i < 24; i++)
                {
                    var c = i / 4 % 3;
                    y[i] = xs[1][c] * (xs[0][i] - m[c]) / Math.Sqrt(v[c] + 1e-5) + xs[2][c];
                }
                return y;
            },
            [xi, gi, bi],
            forwardTol: 1e-5
        );
        foreach (var t in new[] { xi, gi, bi, rm, rv })
            t.Dispose();
    }

    [Fact]
    public void CrossEntropy_HandValueSmoothingAndGradient()
    {
        using (var scope = TensorScope.Begin())
        {
            // Uniform logits over 4 classes: loss = ln 4 whatever the label or smoothing.
            var z = Tensor.Zeros([2, 4]);
            var y = Tensor.FromInt32([1, 3], [2]);
            Assert.Equal(Math.Log(4), Ops.CrossEntropy(z, y).Item(), 1e-6);
            Assert.Equal(Math.Log(4), Ops.CrossEntropy(z, y, 0.1f).Item(), 1e-6);
        }
        var logits = Rand([3, 5], 2);
        var labels = TensorScope.Unscoped(Tensor.FromInt32([4, 0, 2], [3]));
        foreach (var eps in new[] { 0f, 0.1f })
        {
            Run(
                ts => Ops.CrossEntropy(ts[0], labels, eps),
                xs =>
                {
                    double total = 0;
                    int[] lab = [4, 0, 2];
                    for (var i = 0; i < 3; i++)
                    {
                        var row = xs[0].Skip(i * 5).Take(5).ToArray();
                        var lse = Math.Log(row.Sum(Math.Exp));
                        total += (1 - eps) * (lse - row[lab[i]]) + eps * row.Average(v => lse - v);
                    }
                    return [total / 3];
                },
                [logits]
            );
            logits.Grad?.Dispose();
            logits.Grad = null;
        }
        logits.Dispose();
        labels.Dispose();
    }

    [Fact]
    public void Mse_HandValue()
    {
        using var scope = TensorScope.Begin();
        var x = Tensor.FromArray([1, 2, 3], [3], requiresGrad: true);
        var t = Tensor.FromArray([1, 0, 0], [3]);
        var l = Ops.Mse(x, t);
        Assert.Equal(13f / 3, l.Item(), 1e-5);
        l.Backward();
        AssertClose("mse grad", x.Grad!.ToArray(), new[] { 0f, 4f / 3, 2f }, 1e-6, 1e-6);
    }

    [Fact]
    public void ChannelAffine_GradientsMatchFiniteDifferences()
    {
        var x = Rand([2, 3, 4], 1);
        var s = Rand([3], 2);
        var b = Rand([3], 3);
        Run(
            ts => Ops.ChannelAffine(ts[0], ts[1], ts[2]),
            xs => xs[0].Select((v, i) => v * xs[1][i / 4 % 3] + xs[2][i / 4 % 3]).ToArray(),
            [x, s, b]
        );
        foreach (var t in new[] { x, s, b })
            t.Dispose();
    }
}
