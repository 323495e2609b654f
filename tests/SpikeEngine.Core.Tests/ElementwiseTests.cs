using Xunit;
using static SpikeEngine.Tests.GradCheck;

namespace SpikeEngine.Tests;

public class ElementwiseTests
{
    [Fact]
    public void BinaryOps_HandValues()
    {
        using var scope = TensorScope.Begin();
        var a = Tensor.FromArray([1, -2, 3, 4], [2, 2]);
        var b = Tensor.FromArray([2, 4, -1, 0.5f], [2, 2]);
        Assert.Equal(new float[] { 3, 2, 2, 4.5f }, (a + b).ToArray());
        Assert.Equal(new float[] { -1, -6, 4, 3.5f }, (a - b).ToArray());
        Assert.Equal(new float[] { 2, -8, -3, 2 }, (a * b).ToArray());
        Assert.Equal(new float[] { 0.5f, -0.5f, -3, 8 }, (a / b).ToArray());
        Assert.Equal(new float[] { 3, 0, 5, 6 }, (a + 2f).ToArray());
        Assert.Equal(new float[] { 2, 5, 0, -1 }, (3f - a).ToArray());
        Assert.Equal(new float[] { -1, 2, -3, -4 }, (-a).ToArray());
        Assert.Equal(new float[] { 1, 4, 9, 16 }, a.Pow(2f).ToArray());
        Assert.Equal(new float[] { 1, 0, 3, 4 }, a.Relu().ToArray());
        Assert.Equal(
            new float[] { 1, 0, 1, 1 },
            Tensor.FromArray([0, -1e-7f, 2, 0], [4]).Heaviside().ToArray()
        );
        Assert.Equal(new float[] { 4, 4, 5, 8.5f }, Tensor.AddN(a, b, a.Abs()).ToArray());
    }

    [Fact]
    public void Reductions_HandValues()
    {
        using var scope = TensorScope.Begin();
        var x = Tensor.FromArray([1, 2, 3, 4, 5, 6], [2, 3]);
        Assert.Equal(21f, x.Sum().Item());
        Assert.Equal(3.5f, x.Mean().Item());
        Assert.Equal(new float[] { 5, 7, 9 }, x.Sum([0]).ToArray());
        Assert.Equal(new float[] { 6, 15 }, x.Sum([1]).ToArray());
        Assert.Equal(new[] { 2, 1 }, x.Mean([-1], keepDims: true).Shape.ToArray());
        Assert.Equal(new float[] { 2, 5 }, x.Mean([-1]).ToArray());
        Assert.Equal(21f, x.Sum([0, 1]).Item());
    }

    public static TheoryData<string> UnaryNames =>
        new() { "exp", "log", "sigmoid", "tanh", "sqrt", "square", "abs", "relu", "neg" };

    [Theory]
    [MemberData(nameof(UnaryNames))]
    public void Unary_GradientMatchesFiniteDifferences(string name)
    {
        // Positive inputs away from kinks so log/sqrt/abs/relu are smooth at the sample points.
        var x = Tensor.FromArray(
            Enumerable.Range(0, 12).Select(i => 0.3f + 0.17f * i).ToArray(),
            [3, 4],
            requiresGrad: true
        );
        Func<double, double> f = name switch
        {
            "exp" => Math.Exp,
            "log" => Math.Log,
            "sigmoid" => v => 1 / (1 + Math.Exp(-v)),
            "tanh" => Math.Tanh,
            "sqrt" => Math.Sqrt,
            "square" => v => v * v,
            "abs" => Math.Abs,
            "relu" => v => Math.Max(0, v),
            _ => v => -v,
        };
        Func<Tensor, Tensor> op = name switch
        {
            "exp" => t => t.Exp(),
            "log" => t => t.Log(),
            "sigmoid" => t => t.Sigmoid(),
            "tanh" => t => t.Tanh(),
            "sqrt" => t => t.Sqrt(),
            "square" => t => t.Square(),
            "abs" => t => t.Abs(),
            "relu" => t => t.Relu(),
            _ => t => t.Neg(),
        };
        Run(ts => op(ts[0]), xs => xs[0].Select(f).ToArray(), [x]);
        x.Dispose();
    }

    [Fact]
    public void Binary_GradientsMatchFiniteDifferences()
    {
        var a = Rand([2, 5], 1);
        var b = Tensor.FromArray(
            Enumerable.Range(0, 10).Select(i => 0.5f + 0.1f * i).ToArray(),
            [2, 5],
            requiresGrad: true
        );
        Run(
            ts => ts[0] * ts[1] + ts[0] / ts[1] - ts[1],
            xs => xs[0].Select((v, i) => v * xs[1][i] + v / xs[1][i] - xs[1][i]).ToArray(),
            [a, b]
        );
        a.Dispose();
        b.Dispose();
    }

    [Fact]
    public void Scalar_And_Reductions_GradientsMatchFiniteDifferences()
    {
        var x = Tensor.FromArray(
            Enumerable.Range(0, 24).Select(i => 0.2f + 0.05f * i).ToArray(),
            [2, 3, 4],
            requiresGrad: true
        );
        Run(
            ts => (ts[0].Pow(3f) * 0.5f + 1f).Mean([0, 2]),
            xs =>
            {
                var r = new double[3];
                for (var a = 0; a < 2; a++)
                for (var c = 0; c < 3; c++)
                for (var k = 0; k < 4; k++)
                    r[c] += (0.5 * Math.Pow(xs[0][(a * 3 + c) * 4 + k], 3) + 1) / 8;
                return r;
            },
            [x]
        );
        x.Dispose();
    }

    [Fact]
    public void AddN_GradientReachesEveryInputUnchanged()
    {
        var xs = Enumerable.Range(0, 3).Select(i => Rand([4], (ulong)i)).ToArray();
        Run(
            ts => Tensor.AddN(ts),
            v => v[0].Select((_, i) => v[0][i] + v[1][i] + v[2][i]).ToArray(),
            xs
        );
        foreach (var t in xs)
            t.Dispose();
    }

    [Fact]
    public void ReshapeIsAViewAndBackpropagates()
    {
        using var scope = TensorScope.Begin();
        var x = Tensor.FromArray([1, 2, 3, 4, 5, 6], [2, 3], requiresGrad: true);
        var y = x.Reshape(3, -1);
        Assert.Equal(new[] { 3, 2 }, y.Shape.ToArray());
        Assert.Same(x.Storage, y.Storage);
        (y * y).Sum().Backward();
        Assert.Equal(new float[] { 2, 4, 6, 8, 10, 12 }, x.Grad!.ToArray());
    }

    [Fact]
    public void GradientsAccumulateAcrossBackwardCalls()
    {
        using var scope = TensorScope.Begin();
        var x = Tensor.FromArray([1, 2], [2], requiresGrad: true);
        (x * 3f).Sum().Backward();
        (x * x).Sum().Backward();
        Assert.Equal(new float[] { 5, 7 }, x.Grad!.ToArray());
    }

    [Fact]
    public void SharedSubexpressionGradientsAdd()
    {
        using var scope = TensorScope.Begin();
        var x = Tensor.FromArray([2, -1], [2], requiresGrad: true);
        var y = x * 2f;
        (y * y + y).Sum().Backward(); // d/dx (4x² + 2x) = 8x + 2
        Assert.Equal(new float[] { 18, -6 }, x.Grad!.ToArray());
    }

    [Fact]
    public void NoGradRecordsNothing()
    {
        using var scope = TensorScope.Begin();
        var x = Tensor.FromArray([1, 2], [2], requiresGrad: true);
        Tensor y;
        using (GradMode.NoGrad())
            y = x * 2f;
        Assert.False(y.RequiresGrad);
        Assert.Null(y.GradFn);
    }

    [Fact]
    public void SecondBackwardThroughReleasedGraphFailsClearly()
    {
        using var scope = TensorScope.Begin();
        var x = Tensor.FromArray([1, 2], [2], requiresGrad: true);
        var loss = (x * x).Sum();
        loss.Backward();
        var e = Assert.Throws<InvalidOperationException>(() => loss.Backward());
        Assert.Contains("already ran its backward", e.Message);
    }

    [Fact]
    public void SavedTensorsReleasedAfterBackward()
    {
        using var scope = TensorScope.Begin();
        var x = Tensor.FromArray([1, 2, 3], [3], requiresGrad: true);
        var y = x * x;
        var node = y.GradFn!;
        Assert.True(node.SavedBytes > 0);
        y.Sum().Backward();
        Assert.Equal(0, node.SavedBytes);
        Assert.True(node.IsReleased);
    }

    [Fact]
    public void RandomIsDeterministicPerSeedAndMoments()
    {
        using var scope = TensorScope.Begin();
        var a = Tensor.Normal([100_000], 1f, 2f, seed: 7).ToArray();
        var b = Tensor.Normal([100_000], 1f, 2f, seed: 7).ToArray();
        var c = Tensor.Normal([100_000], 1f, 2f, seed: 8).ToArray();
        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
        var mean = a.Average();
        var std = Math.Sqrt(a.Select(v => (v - mean) * (v - mean)).Average());
        Assert.InRange(mean, 0.97, 1.03); // 3σ of the mean is 0.019
        Assert.InRange(std, 1.97, 2.03);
        var u = Tensor.Uniform([100_000], -1f, 3f, seed: 1).ToArray();
        Assert.True(u.All(v => v >= -1f && v < 3f));
        Assert.InRange(u.Average(), 0.98, 1.02);
    }

    [Fact]
    public void KaimingFanOutStd()
    {
        using var scope = TensorScope.Begin();
        var w = Tensor.KaimingNormalFanOut([64, 32, 3, 3], seed: 3).ToArray();
        var std = Math.Sqrt(w.Select(v => (double)v * v).Average());
        Assert.InRange(std, Math.Sqrt(2.0 / (64 * 9)) * 0.97, Math.Sqrt(2.0 / (64 * 9)) * 1.03);
    }

    [Fact]
    public void DTypeConversionsRoundTrip()
    {
        using var scope = TensorScope.Begin();
        var x = Tensor.FromArray([1f, -2.5f, 3.140625f, 65504f, 1e-3f], [5]);
        var bf = x.ToDType(DType.BFloat16);
        Assert.Equal(10, bf.Storage.Bytes);
        var back = bf.ToArray();
        Assert.Equal(1f, back[0]);
        Assert.Equal(-2.5f, back[1]);
        Assert.Equal(3.140625f, back[2]);
        Assert.InRange(back[4], 1e-3f * (1 - 1f / 128), 1e-3f * (1 + 1f / 128));
        var h = x.ToDType(DType.Float16).ToArray();
        Assert.Equal(65504f, h[3]);
        Assert.InRange(h[4], 1e-3f * (1 - 1f / 1024), 1e-3f * (1 + 1f / 1024));
        Assert.Equal(1, Tensor.Empty([8], dtype: DType.Bit).Storage.Bytes);
    }

    // The vectorised, parallel conversions against the scalar definitions (IEEE half from
    // System.Half, bfloat16 by rounding the top 16 bits to nearest even), over many chunks of
    // Par.Elementwise and with the special values: ±0, ±∞, NaN, subnormals, halfway cases.
    [Theory]
    [InlineData(DType.Float16)]
    [InlineData(DType.BFloat16)]
    public void HalfConversionsMatchTheScalarDefinition(DType dtype)
    {
        using var scope = TensorScope.Begin();
        const int n = 200_003;
        var rng = new Random(5);
        var values = new float[n];
        for (var i = 0; i < n; i++)
            values[i] = (float)((rng.NextDouble() - 0.5) * Math.Pow(2, rng.Next(-30, 20)));
        float[] special =
        [
            0f,
            -0f,
            float.PositiveInfinity,
            float.NegativeInfinity,
            float.NaN,
            1e-8f,
            -6e-8f,
            65520f,
            1f + 1f / 2048,
            1f + 3f / 2048,
            1f + 1f / 256,
            1f + 3f / 256,
            3.4e38f,
        ];
        special.CopyTo(values, 0);
        special.CopyTo(values, n - special.Length);
        var x = Tensor.FromArray(values, [n]);
        var packed = x.ToDType(dtype);
        var bits = ((CpuStorage)packed.Storage).Span<ushort>();
        var back = packed.ToDType(DType.Float32).ToArray();
        for (var i = 0; i < n; i++)
        {
            var v = values[i];
            ushort expected =
                dtype == DType.Float16 ? BitConverter.HalfToUInt16Bits((Half)v) : ScalarBFloat16(v);
            var expectedBack =
                dtype == DType.Float16
                    ? (float)BitConverter.UInt16BitsToHalf(expected)
                    : BitConverter.UInt32BitsToSingle((uint)expected << 16);
            if (float.IsNaN(v))
            {
                Assert.True(float.IsNaN(back[i]), $"{dtype}: NaN at {i} came back as {back[i]}");
                continue;
            }
            Assert.True(
                expected == bits[i],
                $"{dtype}: element {i} = {v:R}: bits 0x{bits[i]:X4}, expected 0x{expected:X4}"
            );
            Assert.Equal(expectedBack, back[i]);
        }
    }

    private static ushort ScalarBFloat16(float f)
    {
        var u = BitConverter.SingleToUInt32Bits(f);
        return (ushort)((u + 0x7FFF + ((u >> 16) & 1)) >> 16);
    }
}
