using SpikeEngine.Models;
using SpikeEngine.Nn;
using SpikeEngine.Training.Metrics;
using SpikeEngine.Training.Optim;

namespace SpikeEngine.Training.Tests;

/// <summary>
/// The optimizer and gradient-reduction primitives of <see cref="IBackend"/> on the CPU: hand
/// values, and bit-identical results to the host loops the optimizers ran before they became
/// backend primitives (kept below as the oracle, verbatim).
/// </summary>
public sealed class OptimizerPrimitiveTests
{
    private static readonly IBackend Cpu = Backends.For(Device.Cpu);
    private static readonly int[] Sizes = [1, 1000, 3, 70_001];

    private static float[] Rand(int n, int seed, float scale = 1f)
    {
        var rng = new Random(seed);
        return [.. Enumerable.Range(0, n).Select(_ => (rng.NextSingle() * 2 - 1) * scale)];
    }

    private static Tensor[] Up(float[][] arrays) =>
        [.. arrays.Select(a => Tensor.FromArray(a, [a.Length]))];

    private static float[][] Copy(float[][] arrays) => [.. arrays.Select(a => a.ToArray())];

    private static void AssertBitIdentical(string what, float[][] expected, Tensor[] actual)
    {
        for (int t = 0; t < expected.Length; t++)
        {
            var a = actual[t].ToArray();
            for (int i = 0; i < a.Length; i++)
            {
                if (
                    BitConverter.SingleToInt32Bits(a[i])
                    != BitConverter.SingleToInt32Bits(expected[t][i])
                )
                    Assert.Fail(
                        $"{what}[{t}][{i}]: backend {a[i]:R}, previous loop {expected[t][i]:R}"
                    );
            }
        }
    }

    [Theory]
    [InlineData(0f, false, true)]
    [InlineData(0.9f, false, true)]
    [InlineData(0.9f, false, false)]
    [InlineData(0.9f, true, false)]
    public void Sgd_primitive_is_bit_identical_to_the_previous_loop(
        float mu,
        bool nesterov,
        bool first
    )
    {
        using var scope = TensorScope.Begin();
        var ps = Sizes.Select((n, i) => Rand(n, i)).ToArray();
        var gs = Sizes.Select((n, i) => Rand(n, 10 + i)).ToArray();
        var bs = Sizes.Select((n, i) => Rand(n, 20 + i)).ToArray();
        var (pt, gt, bt) = (Up(ps), Up(gs), Up(bs));
        var (pe, be) = (Copy(ps), Copy(bs));
        for (int step = 0; step < 3; step++)
        {
            bool firstStep = first && step == 0;
            Cpu.SgdStep(pt, gt, mu != 0f ? bt : null, 0.1f, mu, 5e-4f, nesterov, firstStep);
            for (int t = 0; t < Sizes.Length; t++)
                PreviousOptimizerMath.SgdStep(
                    pe[t],
                    gs[t],
                    mu != 0f ? be[t] : [],
                    0.1f,
                    mu,
                    5e-4f,
                    nesterov,
                    firstStep
                );
        }
        AssertBitIdentical("p", pe, pt);
        if (mu != 0f)
            AssertBitIdentical("buf", be, bt);
    }

    [Fact]
    public void AdamW_primitive_is_bit_identical_to_the_previous_loop()
    {
        using var scope = TensorScope.Begin();
        var ps = Sizes.Select((n, i) => Rand(n, i)).ToArray();
        var ms = Sizes.Select((n, i) => new float[n]).ToArray();
        var vs = Sizes.Select((n, i) => new float[n]).ToArray();
        var (pt, mt, vt) = (Up(ps), Up(ms), Up(vs));
        var (pe, me, ve) = (Copy(ps), Copy(ms), Copy(vs));
        for (int step = 1; step <= 4; step++)
        {
            var gs = Sizes.Select((n, i) => Rand(n, 100 * step + i)).ToArray();
            using var gt = new DisposableList(Up(gs));
            Cpu.AdamWStep(pt, gt.Items, mt, vt, 1e-3f, 0.9f, 0.999f, 1e-8f, 0.01f, step);
            for (int t = 0; t < Sizes.Length; t++)
                PreviousOptimizerMath.AdamWStep(
                    pe[t],
                    gs[t],
                    me[t],
                    ve[t],
                    1e-3f,
                    0.9f,
                    0.999f,
                    1e-8f,
                    0.01f,
                    step
                );
        }
        AssertBitIdentical("p", pe, pt);
        AssertBitIdentical("m", me, mt);
        AssertBitIdentical("v", ve, vt);
    }

    [Theory]
    [InlineData("sgd")]
    [InlineData("adamw")]
    public void Optimizer_step_over_a_model_is_bit_identical_to_the_previous_per_parameter_loop(
        string kind
    )
    {
        using var model = ModelRegistry.Create(
            "danet-mnist-tiny",
            ModelOptions.ForInput(4, 1, 8, 3)
        );
        var named = model.NamedParameters().ToList();
        using var opt = Optimizer.Create(
            kind,
            model,
            weightDecay: 0.01f,
            momentum: 0.9f,
            nesterov: true
        );
        var expected = named.Select(p => p.Tensor.ToArray()).ToArray();
        var state1 = named.Select(p => new float[p.Tensor.Numel]).ToArray();
        var state2 = named.Select(p => new float[p.Tensor.Numel]).ToArray();
        var seen = new bool[named.Count];
        for (int step = 1; step <= 3; step++)
        {
            for (int i = 0; i < named.Count; i++)
            {
                // the first parameter gets its first gradient at step 2: its momentum buffer starts then
                if (i == 0 && step == 1)
                    continue;
                var g = Rand((int)named[i].Tensor.Numel, 1000 * step + i, 0.1f);
                named[i].Tensor.Grad = Tensor.FromArray(g, named[i].Tensor.Shape.ToArray());
                if (kind == "sgd")
                    PreviousOptimizerMath.SgdStep(
                        expected[i],
                        g,
                        state1[i],
                        0.05f,
                        0.9f,
                        0.01f,
                        true,
                        !seen[i]
                    );
                else
                    PreviousOptimizerMath.AdamWStep(
                        expected[i],
                        g,
                        state1[i],
                        state2[i],
                        0.05f,
                        0.9f,
                        0.999f,
                        1e-8f,
                        0.01f,
                        step
                    );
                seen[i] = true;
            }
            opt.Step(0.05f);
            model.ZeroGrad();
        }
        AssertBitIdentical("parameter", expected, [.. named.Select(p => p.Tensor)]);
        var state = opt.NamedState().ToDictionary(s => s.Name, s => s.Tensor);
        var suffix = kind == "sgd" ? ".momentum_buffer" : ".exp_avg";
        AssertBitIdentical(suffix, state1, [.. named.Select(p => state[p.Name + suffix])]);
    }

    [Fact]
    public void Sum_of_squares_and_scale_match_hand_values()
    {
        using var scope = TensorScope.Begin();
        var a = Tensor.FromArray([3f, 4f], [2]);
        var b = Tensor.FromArray([1f, -2f, 2f], [3]);
        Assert.Equal(25.0 + 9.0, Cpu.SumOfSquares([a, b]));
        Assert.Equal(0.0, Cpu.SumOfSquares([]));
        Cpu.ScaleInPlace([a, b], 0.5f);
        Assert.Equal([1.5f, 2f], a.ToArray());
        Assert.Equal([0.5f, -1f, 1f], b.ToArray());
        // Σ in float64 over a long tensor equals the previous loop exactly
        var big = Rand(70_001, 4);
        var t = Tensor.FromArray(big, [big.Length]);
        Assert.Equal(PreviousOptimizerMath.SumOfSquares(big) + 0.0, Cpu.SumOfSquares([t]));
    }

    [Fact]
    public void Non_finite_scan_finds_the_first_offending_tensor_and_element()
    {
        using var scope = TensorScope.Begin();
        var ok = Tensor.FromArray([1f, 2f], [2]);
        var inf = Tensor.FromArray([0f, 0f, float.NegativeInfinity, float.NaN], [4]);
        var nan = Tensor.FromArray([float.NaN], [1]);
        Assert.Null(Cpu.FindNonFinite([ok]));
        Assert.Null(Cpu.FindNonFinite([]));
        Assert.Equal(
            new NonFiniteElement(1, 2, float.NegativeInfinity),
            Cpu.FindNonFinite([ok, inf, nan])
        );
        var first = Cpu.FindNonFinite([nan, inf]);
        Assert.NotNull(first);
        Assert.Equal(0, first.Value.Tensor);
        Assert.Equal(0L, first.Value.Index);
        Assert.True(float.IsNaN(first.Value.Value));
    }

    [Fact]
    public void Gradients_report_the_parameter_in_module_order()
    {
        using var scope = TensorScope.Begin();
        var p1 = Tensor.Zeros([2], requiresGrad: true);
        var p2 = Tensor.Zeros([3], requiresGrad: true);
        var p3 = Tensor.Zeros([1], requiresGrad: true);
        p2.Grad = Tensor.FromArray([0f, float.PositiveInfinity, 1f], [3]);
        p3.Grad = Tensor.FromArray([float.NaN], [1]);
        var list = new List<(string, Tensor)> { ("a", p1), ("b", p2), ("c", p3) };
        Assert.Equal<(string, long, float)?>(
            ("b", 1L, float.PositiveInfinity),
            Gradients.FirstNonFinite(list)
        );
        p2.Grad.Dispose();
        p2.Grad = Tensor.FromArray([1f, 2f, 2f], [3]);
        p3.Grad.Dispose();
        p3.Grad = null;
        Assert.Null(Gradients.FirstNonFinite(list));
        Assert.Equal(3.0, Gradients.GlobalNorm(list));
        Assert.Equal(3.0, Gradients.ClipByNorm(list, 6.0)); // under the limit: unchanged
        Assert.Equal([1f, 2f, 2f], p2.Grad.ToArray());
    }

    [Fact]
    public void Module_to_its_own_device_keeps_every_tensor_and_refuses_gradients_elsewhere()
    {
        using var model = ModelRegistry.Create(
            "danet-mnist-tiny",
            ModelOptions.ForInput(4, 1, 8, 3)
        );
        var before = model
            .NamedTensors()
            .Select(s => (s.Tensor, Values: s.Tensor.ToArray()))
            .ToList();
        Assert.Same(model, model.To(Device.Cpu));
        foreach (var (t, values) in before)
        {
            Assert.Equal(Device.Cpu, t.Device);
            Assert.Equal(values, t.ToArray());
        }
        var p = model.Parameters().First();
        p.Grad = Tensor.Ones(p.Shape.ToArray());
        model.To(Device.Cpu); // nothing moves, so the gradient does not matter
        var e = Assert.Throws<InvalidOperationException>(() => model.To(Device.Cuda(0)));
        Assert.Contains("gradient", e.Message);
        model.ZeroGrad();
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(5)]
    public void Device_accuracy_counts_equal_the_host_loop(int topK)
    {
        using var scope = TensorScope.Begin();
        const int T = 3,
            N = 57,
            K = 10;
        var rng = new Random(topK);
        // small integers: many ties, which count against the label unless it comes first
        var output = Enumerable.Range(0, T * N * K).Select(_ => (float)rng.Next(0, 4)).ToArray();
        var labels = Enumerable.Range(0, N).Select(_ => rng.Next(0, K)).ToArray();
        var o = Tensor.FromArray(output, [T, N, K]);
        var y = Tensor.FromInt32(labels, [N]);
        long expected = HostCountCorrect(output, T, N, K, labels, topK);
        Assert.InRange(expected, 1, N - 1);
        Assert.Equal(expected, Trainer.CountCorrect(o, y, topK));
        Assert.Equal(
            [expected, HostCountCorrect(output, T, N, K, labels, 1)],
            Accuracy.CountCorrect(o, y, topK, 1)
        );
    }

    // The host loop the trainer used before counting on the device.
    private static long HostCountCorrect(float[] host, int t, int n, int k, int[] labels, int topK)
    {
        var sum = new float[k];
        long hits = 0;
        for (int i = 0; i < n; i++)
        {
            Array.Clear(sum);
            for (int s = 0; s < t; s++)
            {
                for (int c = 0; c < k; c++)
                    sum[c] += host[(s * n + i) * k + c];
            }
            float target = sum[labels[i]];
            int above = 0;
            for (int c = 0; c < k; c++)
            {
                if (sum[c] > target || (sum[c] == target && c < labels[i]))
                    above++;
            }
            if (above < topK)
                hits++;
        }
        return hits;
    }

    private sealed class DisposableList(Tensor[] items) : IDisposable
    {
        public Tensor[] Items => items;

        public void Dispose()
        {
            foreach (var t in items)
                t.Dispose();
        }
    }

    /// <summary>The optimizer loops as they were in Training's OptimizerMath before moving to Cpu/Optim.cs (the oracle).</summary>
    private static class PreviousOptimizerMath
    {
        public static void SgdStep(
            Span<float> p,
            ReadOnlySpan<float> g,
            Span<float> buf,
            float lr,
            float momentum,
            float weightDecay,
            bool nesterov,
            bool firstStep
        )
        {
            for (int i = 0; i < p.Length; i++)
            {
                float d = g[i] + weightDecay * p[i];
                if (momentum != 0f)
                {
                    float b = firstStep ? d : momentum * buf[i] + d;
                    buf[i] = b;
                    d = nesterov ? d + momentum * b : b;
                }
                p[i] -= lr * d;
            }
        }

        public static void AdamWStep(
            Span<float> p,
            ReadOnlySpan<float> g,
            Span<float> m,
            Span<float> v,
            float lr,
            float beta1,
            float beta2,
            float eps,
            float weightDecay,
            long t
        )
        {
            float bc1 = 1f - MathF.Pow(beta1, t);
            float bc2Sqrt = MathF.Sqrt(1f - MathF.Pow(beta2, t));
            float stepSize = lr / bc1;
            float decay = 1f - lr * weightDecay;
            for (int i = 0; i < p.Length; i++)
            {
                float gi = g[i];
                float mi = beta1 * m[i] + (1f - beta1) * gi;
                float vi = beta2 * v[i] + (1f - beta2) * gi * gi;
                m[i] = mi;
                v[i] = vi;
                p[i] = p[i] * decay - stepSize * mi / (MathF.Sqrt(vi) / bc2Sqrt + eps);
            }
        }

        public static double SumOfSquares(ReadOnlySpan<float> g)
        {
            double s = 0;
            for (int i = 0; i < g.Length; i++)
                s += (double)g[i] * g[i];
            return s;
        }
    }
}
