namespace SpikeEngine.Cuda.Tests;

/// <summary>
/// The fused optimizer steps against the per-element formulas (Cpu/Optim.cs's), written
/// out here, and the gradient reductions (sum of squares, non-finite scan, scale) against the CPU
/// backend's.
/// </summary>
public sealed class CudaOptimizerTests
{
    private static float[] Rand(int n, int seed)
    {
        var rng = new Random(seed);
        return [.. Enumerable.Range(0, n).Select(_ => rng.NextSingle() * 2 - 1)];
    }

    private static readonly int[] Sizes = [1, 1000, 3, 70_001];

    [Theory]
    [InlineData(0f, false, true)]
    [InlineData(0.9f, false, true)]
    [InlineData(0.9f, true, false)]
    public void Sgd_step_over_many_tensors_matches_the_formula(float mu, bool nesterov, bool first)
    {
        var backend = CudaTestBackend.Instance;
        var dev = backend.Device;
        using var scope = TensorScope.Begin();
        const float lr = 0.1f,
            wd = 5e-4f;
        var ps = Sizes.Select((n, i) => Rand(n, i)).ToArray();
        var gs = Sizes.Select((n, i) => Rand(n, 10 + i)).ToArray();
        var bs = Sizes.Select((n, i) => Rand(n, 20 + i)).ToArray();
        var pt = ps.Select(p => Tensor.FromArray(p, [p.Length], device: dev)).ToArray();
        var gt = gs.Select(g => Tensor.FromArray(g, [g.Length], device: dev)).ToArray();
        var bt = bs.Select(b => Tensor.FromArray(b, [b.Length], device: dev)).ToArray();
        var before = Kernels.KernelLauncher.ThreadLaunchCount;
        backend.SgdStep(pt, gt, bt, lr, mu, wd, nesterov, first);
        Assert.Equal(before + 1, Kernels.KernelLauncher.ThreadLaunchCount);
        for (var t = 0; t < Sizes.Length; t++)
        {
            var p = ps[t];
            var b = bs[t];
            for (var i = 0; i < p.Length; i++)
            {
                var d = gs[t][i] + wd * p[i];
                if (mu != 0f)
                {
                    var bi = first ? d : mu * b[i] + d;
                    b[i] = bi;
                    d = nesterov ? d + mu * bi : bi;
                }
                p[i] -= lr * d;
            }
            BackendParityTests.AssertClose($"sgd p[{t}]", p, pt[t].ToArray(), 1e-6f, 1e-5f);
            if (mu != 0f)
                BackendParityTests.AssertClose($"sgd buf[{t}]", b, bt[t].ToArray(), 1e-6f, 1e-5f);
        }
    }

    [Fact]
    public void AdamW_step_over_many_tensors_matches_the_formula()
    {
        var backend = CudaTestBackend.Instance;
        var dev = backend.Device;
        using var scope = TensorScope.Begin();
        const float lr = 1e-3f,
            b1 = 0.9f,
            b2 = 0.999f,
            eps = 1e-8f,
            wd = 0.01f;
        const int step = 3;
        var ps = Sizes.Select((n, i) => Rand(n, i)).ToArray();
        var gs = Sizes.Select((n, i) => Rand(n, 10 + i)).ToArray();
        var ms = Sizes.Select((n, i) => Rand(n, 20 + i)).ToArray();
        var vs = Sizes.Select((n, i) => Rand(n, 30 + i).Select(Math.Abs).ToArray()).ToArray();
        Tensor[] Up(float[][] a) =>
            [.. a.Select(x => Tensor.FromArray(x, [x.Length], device: dev))];
        var (pt, gt, mt, vt) = (Up(ps), Up(gs), Up(ms), Up(vs));
        backend.AdamWStep(pt, gt, mt, vt, lr, b1, b2, eps, wd, step);
        var bc1 = 1f - MathF.Pow(b1, step);
        var bc2Sqrt = MathF.Sqrt(1f - MathF.Pow(b2, step));
        for (var t = 0; t < Sizes.Length; t++)
        {
            var (p, g, m, v) = (ps[t], gs[t], ms[t], vs[t]);
            for (var i = 0; i < p.Length; i++)
            {
                m[i] = b1 * m[i] + (1f - b1) * g[i];
                v[i] = b2 * v[i] + (1f - b2) * g[i] * g[i];
                p[i] = p[i] * (1f - lr * wd) - lr / bc1 * m[i] / (MathF.Sqrt(v[i]) / bc2Sqrt + eps);
            }
            BackendParityTests.AssertClose($"adamw p[{t}]", p, pt[t].ToArray(), 1e-6f, 1e-5f);
            BackendParityTests.AssertClose($"adamw m[{t}]", m, mt[t].ToArray(), 1e-6f, 1e-5f);
            BackendParityTests.AssertClose($"adamw v[{t}]", v, vt[t].ToArray(), 1e-6f, 1e-5f);
        }
    }

    [Fact]
    public void Sum_of_squares_over_many_tensors_matches_the_cpu()
    {
        var backend = CudaTestBackend.Instance;
        using var scope = TensorScope.Begin();
        var xs = Sizes.Select((n, i) => Rand(n, 40 + i)).ToArray();
        var cpu = xs.Select(x => Tensor.FromArray(x, [x.Length])).ToArray();
        var gpu = xs.Select(x => Tensor.FromArray(x, [x.Length], device: backend.Device)).ToArray();
        var before = Kernels.KernelLauncher.ThreadLaunchCount;
        var actual = backend.SumOfSquares(gpu);
        Assert.Equal(before + 2, Kernels.KernelLauncher.ThreadLaunchCount);
        var expected = Backends.For(Device.Cpu).SumOfSquares(cpu);
        Requirements.Log($"sum of squares: CPU {expected:R}, CUDA {actual:R}");
        Assert.True(
            Math.Abs(actual - expected) <= 1e-12 * expected,
            $"CPU {expected:R}, CUDA {actual:R}"
        );
        Assert.Equal(0.0, backend.SumOfSquares([]));
    }

    [Fact]
    public void Non_finite_scan_finds_the_first_offending_tensor_and_element()
    {
        var backend = CudaTestBackend.Instance;
        using var scope = TensorScope.Begin();
        var xs = Sizes.Select((n, i) => Rand(n, 50 + i)).ToArray();
        Tensor[] Up() =>
            [.. xs.Select(x => Tensor.FromArray(x, [x.Length], device: backend.Device))];
        Assert.Null(backend.FindNonFinite(Up()));
        xs[3][70_000] = float.NaN;
        xs[3][69_999] = float.PositiveInfinity; // several blocks: the smallest index wins
        xs[3][512] = float.NegativeInfinity;
        Assert.Equal(
            new NonFiniteElement(3, 512, float.NegativeInfinity),
            backend.FindNonFinite(Up())
        );
        xs[1][999] = float.NaN;
        var hit = backend.FindNonFinite(Up());
        Assert.NotNull(hit);
        Assert.Equal((1, 999L), (hit.Value.Tensor, hit.Value.Index));
        Assert.True(float.IsNaN(hit.Value.Value));
    }

    [Fact]
    public void Scale_in_place_over_many_tensors_matches_the_cpu()
    {
        var backend = CudaTestBackend.Instance;
        using var scope = TensorScope.Begin();
        var xs = Sizes.Select((n, i) => Rand(n, 60 + i)).ToArray();
        var cpu = xs.Select(x => Tensor.FromArray(x, [x.Length])).ToArray();
        var gpu = xs.Select(x => Tensor.FromArray(x, [x.Length], device: backend.Device)).ToArray();
        backend.ScaleInPlace(gpu, 0.37f);
        Backends.For(Device.Cpu).ScaleInPlace(cpu, 0.37f);
        for (var t = 0; t < xs.Length; t++)
            Assert.Equal(cpu[t].ToArray(), gpu[t].ToArray()); // one correctly rounded multiply: exact
    }

    [Fact]
    public void Arguments_on_another_device_are_rejected_naming_the_op()
    {
        var backend = CudaTestBackend.Instance;
        using var scope = TensorScope.Begin();
        var x = Tensor.FromArray([1f, 2f], [2]);
        var y = Tensor.Empty([2], backend.Device);
        var e = Assert.Throws<ArgumentException>(() => backend.Unary(UnaryOp.Exp, x, y));
        Assert.Contains("Unary(Exp)", e.Message);
        Assert.Contains("'x' is on cpu", e.Message);
    }
}
