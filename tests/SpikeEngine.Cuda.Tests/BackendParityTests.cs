using SpikeEngine.Nn;

namespace SpikeEngine.Cuda.Tests;

/// <summary>
/// Every IBackend primitive, written once and run on each backend under test, compared with the
/// CPU backend (the specification) on awkward shapes: sizes that are no multiple of a block, T = 1,
/// N = 1, single channels. A failure names the output, the worst index and both values; a sentinel
/// proves the backend's own path ran (so the reference is never compared with itself).
/// </summary>
public abstract partial class BackendParityTests
{
    /// <summary>The backend under test.</summary>
    protected abstract IBackend Backend { get; }

    /// <summary>Skips (visibly) when the backend can't run here.</summary>
    protected abstract void Require();

    /// <summary>Work the backend did on its own path from this thread (kernel launches, library calls).</summary>
    protected abstract long PathCounter { get; }

    private static IBackend Reference => Backends.For(Device.Cpu);

    // -- harness --------------------------------------------------------------------------

    private sealed class Ctx(IBackend backend)
    {
        public IBackend B { get; } = backend;

        public Tensor F(float[] data, params int[] shape) =>
            Tensor.FromArray(data, shape, device: B.Device);

        public Tensor I(int[] data, params int[] shape) => Tensor.FromInt32(data, shape, B.Device);

        public Tensor E(DType dtype, params int[] shape) => Tensor.Empty(shape, B.Device, dtype);

        public Tensor E(params int[] shape) => E(DType.Float32, shape);
    }

    /// <summary>Runs <paramref name="body"/> on the reference and on the backend under test, compares every output.</summary>
    private void Parity(
        string op,
        Func<Ctx, (string Name, Tensor Output)[]> body,
        float atol = 1e-5f,
        float rtol = 1e-5f
    )
    {
        Require();
        var expected = Collect(Reference, body);
        var before = PathCounter;
        var actual = Collect(Backend, body);
        Assert.True(
            PathCounter > before,
            $"{op}: the {Backend.Device} path did not run (sentinel unchanged)"
        );
        for (var i = 0; i < expected.Count; i++)
            AssertClose(
                $"{op}: {expected[i].Name}",
                expected[i].Values,
                actual[i].Values,
                atol,
                rtol
            );
    }

    private static List<(string Name, float[] Values)> Collect(
        IBackend backend,
        Func<Ctx, (string Name, Tensor Output)[]> body
    )
    {
        using var scope = TensorScope.Begin();
        return [.. body(new Ctx(backend)).Select(o => (o.Name, o.Output.ToArray()))];
    }

    internal static void AssertClose(
        string what,
        float[] expected,
        float[] actual,
        float atol,
        float rtol
    ) => Approx.Close(what, actual, expected, atol, rtol);

    private static float[] Rand(int n, int seed, float lo = -1f, float hi = 1f)
    {
        var rng = new Random(seed);
        return [.. Enumerable.Range(0, n).Select(_ => lo + (hi - lo) * rng.NextSingle())];
    }

    // -- memory and conversion ------------------------------------------------------------

    [Theory]
    [InlineData(DType.BFloat16)]
    [InlineData(DType.Float16)]
    [InlineData(DType.UInt8)]
    [InlineData(DType.Int32)]
    [InlineData(DType.Bit)]
    public void Convert_round_trips_like_the_cpu(DType dtype)
    {
        var data = Rand(1001, 1, -300f, 300f);
        data[0] = 0.1f;
        data[1] = 65519.9f;
        data[2] = 1e-7f;
        Parity(
            $"Convert({dtype.Name()})",
            c =>
            {
                var x = c.F(data, 1001);
                var mid = c.E(dtype, 1001);
                c.B.Convert(x, mid);
                var back = c.E(1001);
                c.B.Convert(mid, back);
                return [("round trip", back)];
            },
            0f,
            0f
        );
    }

    [Fact]
    public void Fill_float_and_int()
    {
        Parity(
            "Fill",
            c =>
            {
                var y = c.E(77);
                c.B.Fill(y, 2.5f);
                var i = c.E(DType.Int32, 5);
                c.B.Fill(i, -3f);
                var f = c.E(5);
                c.B.Convert(i, f);
                return [("float", y), ("int", f)];
            },
            0f,
            0f
        );
    }

    // -- elementwise ----------------------------------------------------------------------

    public static TheoryData<UnaryOp> UnaryOps() => [.. Enum.GetValues<UnaryOp>()];

    [Theory]
    [MemberData(nameof(UnaryOps))]
    public void Unary_forward_and_backward(UnaryOp op)
    {
        var positive = op is UnaryOp.Log or UnaryOp.Sqrt;
        var x = Rand(1003, 2, positive ? 0.05f : -3f, 3f);
        x[5] = 0f;
        if (positive)
            x[5] = 0.5f;
        var gy = Rand(1003, 3);
        Parity(
            $"Unary({op})",
            c =>
            {
                var xt = c.F(x, 17, 59);
                var y = c.E(17, 59);
                c.B.Unary(op, xt, y);
                var gx = c.E(17, 59);
                c.B.UnaryBackward(op, xt, y, c.F(gy, 17, 59), gx);
                return [("y", y), ("gx", gx)];
            },
            1e-6f,
            2e-6f
        );
    }

    public static TheoryData<BinaryOp> BinaryOps() => [.. Enum.GetValues<BinaryOp>()];

    [Theory]
    [MemberData(nameof(BinaryOps))]
    public void Binary(BinaryOp op)
    {
        var a = Rand(999, 4);
        var b = Rand(999, 5, 0.1f, 2f);
        Parity(
            $"Binary({op})",
            c =>
            {
                var y = c.E(999);
                c.B.Binary(op, c.F(a, 999), c.F(b, 999), y);
                return [("y", y)];
            },
            0f,
            1e-6f
        );
    }

    public static TheoryData<ScalarOp> ScalarOps() => [.. Enum.GetValues<ScalarOp>()];

    [Theory]
    [MemberData(nameof(ScalarOps))]
    public void Scalar(ScalarOp op)
    {
        var x = Rand(1, 6, 0.1f, 3f).Concat(Rand(516, 6, 0.1f, 3f)).ToArray();
        Parity(
            $"Scalar({op})",
            c =>
            {
                var y = c.E(517);
                c.B.Scalar(op, c.F(x, 517), 1.7f, y);
                return [("y", y)];
            },
            1e-6f,
            2e-6f
        );
    }

    [Fact]
    public void Axpy_and_AddN()
    {
        var x = Rand(1025, 7);
        var y = Rand(1025, 8);
        var z = Rand(1025, 9);
        Parity(
            "Axpy/AddN",
            c =>
            {
                var yt = c.F(y, 1025);
                c.B.Axpy(-0.75f, c.F(x, 1025), yt);
                var one = c.E(1025);
                c.B.AddN([c.F(x, 1025)], one);
                var three = c.E(1025);
                c.B.AddN([c.F(x, 1025), c.F(y, 1025), c.F(z, 1025)], three);
                return [("axpy", yt), ("addn1", one), ("addn3", three)];
            },
            1e-6f,
            1e-6f
        );
    }

    [Theory]
    [InlineData(true, true)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    public void ChannelAffine(bool withScale, bool withShift)
    {
        const int outer = 3,
            ch = 5,
            inner = 7;
        var x = Rand(outer * ch * inner, 10);
        var s = Rand(ch, 11);
        var b = Rand(ch, 12);
        Parity(
            "ChannelAffine",
            c =>
            {
                var y = c.E(outer * ch * inner);
                c.B.ChannelAffine(
                    c.F(x, outer * ch * inner),
                    withScale ? c.F(s, ch) : null,
                    withShift ? c.F(b, ch) : null,
                    outer,
                    ch,
                    inner,
                    y
                );
                return [("y", y)];
            },
            1e-6f,
            1e-6f
        );
    }

    // -- reductions -----------------------------------------------------------------------

    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(3, 1000, 1)]
    [InlineData(1, 70001, 1)]
    [InlineData(4, 9, 33)]
    [InlineData(1, 257, 5)]
    public void Sum_and_Expand(int outer, int reduce, int inner)
    {
        var x = Rand(outer * reduce * inner, 13);
        var g = Rand(outer * inner, 14);
        Parity(
            $"Sum/Expand({outer},{reduce},{inner})",
            c =>
            {
                var y = c.E(outer * inner);
                c.B.Sum(c.F(x, outer * reduce * inner), outer, reduce, inner, y);
                var e = c.E(outer * reduce * inner);
                c.B.Expand(c.F(g, outer * inner), outer, reduce, inner, e);
                return [("sum", y), ("expand", e)];
            },
            1e-4f,
            1e-5f
        );
    }

    // -- GEMM -----------------------------------------------------------------------------

    [Theory]
    [InlineData(false, false, 67, 45, 33)]
    [InlineData(true, false, 1, 17, 5)]
    [InlineData(false, true, 31, 1, 129)]
    [InlineData(true, true, 13, 29, 7)]
    public void Gemm(bool ta, bool tb, int m, int n, int k)
    {
        var a = Rand(m * k, 15);
        var b = Rand(k * n, 16);
        var c0 = Rand(m * n, 17);
        Parity(
            $"Gemm(transA={ta}, transB={tb}, {m}x{n}x{k})",
            c =>
            {
                var ct = c.F(c0, m * n);
                c.B.Gemm(ta, tb, m, n, k, 0.5f, c.F(a, m * k), c.F(b, k * n), 0.25f, ct);
                return [("c", ct)];
            },
            1e-5f,
            1e-4f
        );
    }

    // -- convolution ----------------------------------------------------------------------

    public static TheoryData<int, int, int, int, int, int, int, int, int> ConvCases() =>
        new()
        {
            // N, C, H, W, K, kernel, stride, pad, dilation
            { 2, 3, 9, 11, 4, 3, 1, 1, 1 },
            { 1, 5, 8, 8, 7, 3, 2, 1, 1 },
            { 3, 4, 6, 5, 2, 1, 1, 0, 1 },
            { 1, 2, 10, 10, 3, 3, 1, 2, 2 },
            { 2, 3, 15, 15, 8, 7, 2, 3, 1 },
        };

    [Theory]
    [MemberData(nameof(ConvCases))]
    public void Conv2d_forward_and_backward(
        int n,
        int ch,
        int h,
        int w,
        int k,
        int ks,
        int stride,
        int pad,
        int dil
    )
    {
        var g = new ConvGeometry(n, ch, h, w, k, ks, ks, stride, stride, pad, pad, dil, dil);
        var x = Rand(n * ch * h * w, 18);
        var wt = Rand(k * ch * ks * ks, 19);
        var gy = Rand(n * k * g.OutH * g.OutW, 20);
        Parity(
            $"Conv2d({g})",
            c =>
            {
                var xt = c.F(x, n, ch, h, w);
                var wtt = c.F(wt, k, ch, ks, ks);
                var gyt = c.F(gy, n, k, g.OutH, g.OutW);
                var y = c.E(n, k, g.OutH, g.OutW);
                c.B.Conv2dForward(xt, wtt, y, g);
                var gx = c.E(n, ch, h, w);
                c.B.Conv2dBackwardData(gyt, wtt, gx, g);
                var gw = c.E(k, ch, ks, ks);
                c.B.Conv2dBackwardFilter(xt, gyt, gw, g);
                return [("y", y), ("gx", gx), ("gw", gw)];
            },
            1e-4f,
            1e-4f
        );
    }

    // -- pooling --------------------------------------------------------------------------

    [Theory]
    [InlineData(6, 9, 9, 3, 2, 1)]
    [InlineData(1, 7, 5, 2, 2, 0)]
    [InlineData(3, 4, 4, 3, 1, 1)]
    public void Pooling_max_and_avg(int planes, int h, int w, int k, int s, int p)
    {
        var g = new PoolGeometry(planes, h, w, k, k, s, s, p, p);
        var x = Rand(planes * h * w, 21);
        x[3] = x[4]; // a tie: the first maximum wins on both backends
        var gy = Rand(planes * g.OutH * g.OutW, 22);
        Parity(
            $"Pool({g})",
            c =>
            {
                var xt = c.F(x, planes, h, w);
                var gyt = c.F(gy, planes, g.OutH, g.OutW);
                var y = c.E(planes, g.OutH, g.OutW);
                var arg = c.E(DType.UInt8, planes, g.OutH, g.OutW);
                c.B.MaxPool2dForward(xt, y, arg, g);
                var gx = c.E(planes, h, w);
                c.B.MaxPool2dBackward(gyt, arg, gx, g);
                var ya = c.E(planes, g.OutH, g.OutW);
                c.B.AvgPool2dForward(xt, ya, g);
                var gxa = c.E(planes, h, w);
                c.B.AvgPool2dBackward(gyt, gxa, g);
                var argf = c.E(planes, g.OutH, g.OutW);
                c.B.Convert(arg, argf);
                return
                [
                    ("max y", y),
                    ("argmax", argf),
                    ("max gx", gx),
                    ("avg y", ya),
                    ("avg gx", gxa),
                ];
            },
            1e-6f,
            1e-5f
        );
    }

    [Theory]
    [InlineData(5, 7, 7, 1, 1)]
    [InlineData(2, 5, 5, 3, 2)]
    [InlineData(1, 1, 1, 1, 1)]
    public void Adaptive_average_pooling(int planes, int h, int w, int oh, int ow)
    {
        var x = Rand(planes * h * w, 23);
        var gy = Rand(planes * oh * ow, 24);
        Parity(
            "AdaptiveAvgPool2d",
            c =>
            {
                var y = c.E(planes, oh, ow);
                c.B.AdaptiveAvgPool2dForward(c.F(x, planes, h, w), y, planes, h, w, oh, ow);
                var gx = c.E(planes, h, w);
                c.B.AdaptiveAvgPool2dBackward(c.F(gy, planes, oh, ow), gx, planes, h, w, oh, ow);
                return [("y", y), ("gx", gx)];
            },
            1e-6f,
            1e-5f
        );
    }
}

/// <summary>The parity suite on the CUDA backend; skipped (with the reason) where there is no GPU.</summary>
public sealed class CudaBackendParityTests : BackendParityTests
{
    protected override IBackend Backend => CudaTestBackend.Instance;

    protected override void Require() => CudaTestBackend.Require();

    protected override long PathCounter =>
        Kernels.KernelLauncher.ThreadLaunchCount + CudaBackend.ThreadLibraryCalls;
}

/// <summary>The registered CUDA backend of device 0 for tests; skips visibly without a GPU or its libraries.</summary>
internal static class CudaTestBackend
{
    public static CudaBackend Instance
    {
        get
        {
            Require();
            return CudaBackend.For(0);
        }
    }

    public static void Require()
    {
        Requirements.GpuLibrary(Interop.CudaLibrary.Cublas);
        Requirements.GpuLibrary(Interop.CudaLibrary.Cudnn);
        if (!Backends.IsRegistered(DeviceKind.Cuda))
            CudaBackend.Register();
    }
}
