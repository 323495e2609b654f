using SpikeEngine.Cpu;
using Xunit;

namespace SpikeEngine.Tests;

/// <summary>
/// The dense convolution paths, oneDNN, im2col + GEMM per sample (the fallback), the batched
/// im2col + GEMM over several samples and Winograd F(4 × 4, 3 × 3), each against float64 direct
/// loops and against each other: forward, data gradient and weight gradient.
/// </summary>
public class DnnlConvTests
{
    // (N, C, H, W, K, KH, KW, stride, padding, dilation): odd sizes, stride 2 with a remainder,
    // padding 0 and 2, dilation 2, 1×1 and 5×3 kernels, channels that are not a multiple of the
    // blocked layouts' 8 or 16.
    public static TheoryData<int, int, int, int, int, int, int, int, int, int> Shapes =>
        new()
        {
            { 2, 3, 11, 13, 5, 3, 3, 2, 0, 1 },
            { 1, 7, 9, 10, 19, 3, 3, 1, 2, 2 },
            { 2, 17, 6, 5, 9, 3, 3, 2, 1, 1 },
            { 1, 4, 8, 8, 3, 1, 1, 1, 0, 1 },
            { 1, 5, 10, 9, 17, 5, 3, 1, 1, 1 },
            { 3, 16, 8, 8, 32, 3, 3, 1, 1, 1 },
            { 2, 32, 8, 8, 16, 1, 1, 2, 0, 1 },
        };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Im2ColMatchesFloat64Loops(
        int n,
        int c,
        int h,
        int wd,
        int k,
        int kh,
        int kw,
        int stride,
        int padding,
        int dilation
    ) =>
        CheckPath(
            "im2col",
            new ConvCase(n, c, h, wd, k, kh, kw, stride, padding, dilation),
            (x, w, y, g) => CpuBackend.Im2ColForward(x, w, y, g),
            (gy, w, gx, g) => CpuBackend.Im2ColBackwardData(gy, w, gx, g),
            (x, gy, gw, g) => CpuBackend.Im2ColBackwardFilter(x, gy, gw, g)
        );

    [Theory]
    [MemberData(nameof(Shapes))]
    public void BatchedGemmMatchesFloat64LoopsAndIm2Col(
        int n,
        int c,
        int h,
        int wd,
        int k,
        int kh,
        int kw,
        int stride,
        int padding,
        int dilation
    ) =>
        CheckPath(
            "batched",
            new ConvCase(n, c, h, wd, k, kh, kw, stride, padding, dilation),
            (x, w, y, g) => BatchedConv.Forward(Data(x), 0, Data(w), 0, Data(y), 0, g),
            (gy, w, gx, g) => BatchedConv.BackwardData(Data(gy), 0, Data(w), 0, Data(gx), 0, g),
            (x, gy, gw, g) => BatchedConv.BackwardWeights(Data(x), 0, Data(gy), 0, Data(gw), 0, g),
            againstIm2Col: true
        );

    // Many samples: several GEMM chunks per worker (7 × 7 maps: 20 samples per chunk), a sample
    // count that leaves the last worker fewer samples, and a weight gradient summed over chunks
    // and workers; 5 samples (per-worker chunks of 3 and 2).
    [Theory]
    [InlineData(83, 6, 7, 7, 10)]
    [InlineData(5, 9, 4, 4, 8)]
    [InlineData(130, 4, 4, 4, 6)]
    public void BatchedGemmChunksMatchFloat64Loops(int n, int c, int h, int wd, int k) =>
        CheckPath(
            "batched (chunks)",
            new ConvCase(n, c, h, wd, k, 3, 3, 1, 1, 1),
            (x, w, y, g) => BatchedConv.Forward(Data(x), 0, Data(w), 0, Data(y), 0, g),
            (gy, w, gx, g) => BatchedConv.BackwardData(Data(gy), 0, Data(w), 0, Data(gx), 0, g),
            (x, gy, gw, g) => BatchedConv.BackwardWeights(Data(x), 0, Data(gy), 0, Data(gw), 0, g)
        );

    // Winograd F(4 × 4, 3 × 3) on 3 × 3 stride-1 layers: padding 0, 1 and 2, maps that are not a
    // multiple of the 4 × 4 tile (one output, 3 × 5, 11 × 13), channel pairs that are not a
    // multiple of the transforms' 8 lanes, and batches of several chunks (16 × 16 maps: 16 tiles
    // a sample, 32 samples a chunk). Its rounding differs from the direct sum's: the transforms
    // scale terms by up to 8 and 1/24.
    public static TheoryData<int, int, int, int, int, int> WinogradShapes =>
        new()
        {
            { 2, 3, 11, 13, 5, 1 },
            { 1, 7, 3, 3, 9, 0 },
            { 3, 16, 8, 8, 32, 1 },
            { 2, 5, 3, 5, 4, 2 },
            { 4, 9, 4, 4, 11, 1 },
            { 70, 6, 16, 16, 10, 1 },
            { 3, 24, 7, 9, 16, 0 },
        };

    [Theory]
    [MemberData(nameof(WinogradShapes))]
    public void WinogradMatchesFloat64LoopsAndIm2Col(
        int n,
        int c,
        int h,
        int wd,
        int k,
        int padding
    ) =>
        CheckPath(
            "Winograd",
            new ConvCase(n, c, h, wd, k, 3, 3, 1, padding, 1),
            (x, w, y, g) => WinogradConv.Forward(Data(x), 0, Data(w), 0, Data(y), 0, g),
            (gy, w, gx, g) => WinogradConv.BackwardData(Data(gy), 0, Data(w), 0, Data(gx), 0, g),
            (x, gy, gw, g) => WinogradConv.BackwardWeights(Data(x), 0, Data(gy), 0, Data(gw), 0, g),
            againstIm2Col: true,
            tolerance: 1e-5
        );

    [Theory]
    [MemberData(nameof(Shapes))]
    public void OneDnnMatchesFloat64LoopsAndIm2Col(
        int n,
        int c,
        int h,
        int wd,
        int k,
        int kh,
        int kw,
        int stride,
        int padding,
        int dilation
    )
    {
        if (!Dnnl.IsAvailable)
            Assert.Skip($"oneDNN path not checked: {Dnnl.Status}");
        var before = DnnlConv.Calls;
        CheckPath(
            "oneDNN",
            new ConvCase(n, c, h, wd, k, kh, kw, stride, padding, dilation),
            (x, w, y, g) => DnnlConv.Forward(Data(x), 0, Data(w), 0, Data(y), 0, g),
            (gy, w, gx, g) => DnnlConv.BackwardData(Data(gy), 0, Data(w), 0, Data(gx), 0, g),
            (x, gy, gw, g) => DnnlConv.BackwardWeights(Data(x), 0, Data(gy), 0, Data(gw), 0, g),
            againstIm2Col: true
        );
        Assert.True(DnnlConv.Calls >= before + 3, "the oneDNN path did not run");
    }

    public readonly record struct ConvCase(
        int N,
        int C,
        int H,
        int W,
        int K,
        int KH,
        int KW,
        int Stride,
        int Padding,
        int Dilation
    );

    private delegate void ConvPass(Tensor a, Tensor b, Tensor result, ConvGeometry g);

    // Runs one path's three passes into NaN-filled outputs and checks them against float64 direct
    // loops (and, when asked, against the im2col path).
    private static void CheckPath(
        string path,
        ConvCase cc,
        ConvPass forward,
        ConvPass backwardData,
        ConvPass backwardWeights,
        bool againstIm2Col = false,
        double tolerance = 2e-6
    )
    {
        using var scope = TensorScope.Begin();
        var x = Tensor.Normal([cc.N, cc.C, cc.H, cc.W], seed: (ulong)(cc.C * 7 + cc.K));
        var w = Tensor.Normal([cc.K, cc.C, cc.KH, cc.KW], seed: 3);
        var g = Ops.ConvGeometryOf(
            x,
            w,
            (cc.Stride, cc.Stride),
            (cc.Padding, cc.Padding),
            (cc.Dilation, cc.Dilation)
        );
        var gy = Tensor.Normal([cc.N, cc.K, g.OutH, g.OutW], seed: 4);
        var (yRef, gxRef, gwRef) = Reference(x, w, gy, g);
        var fwdTol = tolerance * cc.C * cc.KH * cc.KW;
        var gwTol = tolerance * cc.N * g.OutH * g.OutW;
        var gxTol = tolerance * cc.K * cc.KH * cc.KW;
        var y = Tensor.Empty([cc.N, cc.K, g.OutH, g.OutW]);
        var gx = Tensor.Empty([cc.N, cc.C, cc.H, cc.W]);
        var gw = Tensor.Empty([cc.K, cc.C, cc.KH, cc.KW]);
        Fill(y, float.NaN);
        Fill(gx, float.NaN);
        Fill(gw, float.NaN);
        forward(x, w, y, g);
        backwardData(gy, w, gx, g);
        backwardWeights(x, gy, gw, g);
        GradCheck.AssertClose($"{path} forward", y.ToArray(), yRef, fwdTol, 1e-5);
        GradCheck.AssertClose($"{path} data gradient", gx.ToArray(), gxRef, gxTol, 1e-5);
        GradCheck.AssertClose($"{path} weight gradient", gw.ToArray(), gwRef, gwTol, 1e-5);
        if (!againstIm2Col)
            return;
        var yI = Tensor.Empty([cc.N, cc.K, g.OutH, g.OutW]);
        var gxI = Tensor.Empty([cc.N, cc.C, cc.H, cc.W]);
        var gwI = Tensor.Empty([cc.K, cc.C, cc.KH, cc.KW]);
        CpuBackend.Im2ColForward(x, w, yI, g);
        CpuBackend.Im2ColBackwardData(gy, w, gxI, g);
        CpuBackend.Im2ColBackwardFilter(x, gy, gwI, g);
        GradCheck.AssertClose($"{path} vs im2col forward", y.ToArray(), yI.ToArray(), fwdTol, 1e-5);
        GradCheck.AssertClose(
            $"{path} vs im2col data gradient",
            gx.ToArray(),
            gxI.ToArray(),
            gxTol,
            1e-5
        );
        GradCheck.AssertClose(
            $"{path} vs im2col weight gradient",
            gw.ToArray(),
            gwI.ToArray(),
            gwTol,
            1e-5
        );
    }

    [Fact]
    public void OperandsAtAnOffsetInTheirStorage()
    {
        if (!Dnnl.IsAvailable)
            Assert.Skip($"oneDNN path not checked: {Dnnl.Status}");
        using var scope = TensorScope.Begin();
        var g = new ConvGeometry(2, 3, 6, 6, 4, 3, 3, 1, 1, 1, 1, 1, 1);
        var x = Tensor.Normal([2, 3, 6, 6], seed: 1);
        var w = Tensor.Normal([4, 3, 3, 3], seed: 2);
        var y = Tensor.Empty([2, 4, 6, 6]);
        CpuBackend.Im2ColForward(x, w, y, g);
        // The same operands behind 5 and 7 leading floats, the output behind 3.
        var xs = new float[5 + x.Numel];
        var ws = new float[7 + w.Numel];
        var ys = new float[3 + y.Numel];
        x.ToArray().CopyTo(xs, 5);
        w.ToArray().CopyTo(ws, 7);
        DnnlConv.Forward(xs, 5, ws, 7, ys, 3, g);
        GradCheck.AssertClose("forward at offsets", ys[3..], y.ToArray(), 1e-4, 1e-5);
        Assert.Equal(0f, ys[0]);
    }

    [Theory]
    [InlineData("batched")]
    [InlineData("Winograd")]
    public void OperandsOfTheChunkedPathsAtAnOffsetInTheirStorage(string path)
    {
        using var scope = TensorScope.Begin();
        var g = new ConvGeometry(5, 3, 6, 6, 4, 3, 3, 1, 1, 1, 1, 1, 1);
        var x = Tensor.Normal([5, 3, 6, 6], seed: 1);
        var w = Tensor.Normal([4, 3, 3, 3], seed: 2);
        var gy = Tensor.Normal([5, 4, 6, 6], seed: 3);
        var y = Tensor.Empty([5, 4, 6, 6]);
        var gx = Tensor.Empty([5, 3, 6, 6]);
        var gw = Tensor.Empty([4, 3, 3, 3]);
        CpuBackend.Im2ColForward(x, w, y, g);
        CpuBackend.Im2ColBackwardData(gy, w, gx, g);
        CpuBackend.Im2ColBackwardFilter(x, gy, gw, g);
        // The operands behind 5, 7 and 9 leading floats, the results behind 3, 4 and 11, with NaN
        // around them that must stay untouched.
        float[] At(Tensor t, int offset)
        {
            var a = new float[offset + t.Numel + 2];
            Array.Fill(a, float.NaN);
            t.ToArray().CopyTo(a, offset);
            return a;
        }
        float[] Nan(Tensor t, int offset)
        {
            var a = new float[offset + t.Numel + 2];
            Array.Fill(a, float.NaN);
            return a;
        }
        var xs = At(x, 5);
        var ws = At(w, 7);
        var gys = At(gy, 9);
        var ys = Nan(y, 3);
        var gxs = Nan(gx, 4);
        var gws = Nan(gw, 11);
        if (path == "batched")
        {
            BatchedConv.Forward(xs, 5, ws, 7, ys, 3, g);
            BatchedConv.BackwardData(gys, 9, ws, 7, gxs, 4, g);
            BatchedConv.BackwardWeights(xs, 5, gys, 9, gws, 11, g);
        }
        else
        {
            WinogradConv.Forward(xs, 5, ws, 7, ys, 3, g);
            WinogradConv.BackwardData(gys, 9, ws, 7, gxs, 4, g);
            WinogradConv.BackwardWeights(xs, 5, gys, 9, gws, 11, g);
        }
        GradCheck.AssertClose("forward at offsets", ys[3..^2], y.ToArray(), 1e-4, 1e-4);
        GradCheck.AssertClose("data gradient at offsets", gxs[4..^2], gx.ToArray(), 1e-4, 1e-4);
        GradCheck.AssertClose("weight gradient at offsets", gws[11..^2], gw.ToArray(), 1e-4, 1e-4);
        Assert.True(
            float.IsNaN(ys[2])
                && float.IsNaN(ys[^1])
                && float.IsNaN(gxs[3])
                && float.IsNaN(gxs[^1])
                && float.IsNaN(gws[10])
                && float.IsNaN(gws[^1])
        );
    }

    [Fact]
    public void BackendDispatchNamesThePathInfoReports()
    {
        Assert.False(string.IsNullOrEmpty(Dnnl.Status));
        if (!Dnnl.IsAvailable)
            Assert.Skip($"oneDNN is absent here: {Dnnl.Status}");
        var g = new ConvGeometry(1, 8, 5, 5, 8, 3, 3, 1, 1, 1, 1, 1, 1);
        foreach (var pass in Enum.GetValues<DnnlConv.Pass>())
            Assert.False(string.IsNullOrEmpty(DnnlConv.Implementation(g, pass)));
        Assert.Contains("oneDNN", Dnnl.Status);
    }

    private static float[] Data(Tensor t) => CpuBackend.ArrayOf(t);

    private static void Fill(Tensor t, float v) => Array.Fill(CpuBackend.ArrayOf(t), v);

    // Direct float64 loops: y = conv(x, w); gx and gw are its adjoints applied to gy.
    private static (double[] Y, double[] Gx, double[] Gw) Reference(
        Tensor xt,
        Tensor wt,
        Tensor gyt,
        ConvGeometry g
    )
    {
        var x = xt.ToArray();
        var w = wt.ToArray();
        var gy = gyt.ToArray();
        var y = new double[g.N * g.K * g.OutH * g.OutW];
        var gx = new double[x.Length];
        var gw = new double[w.Length];
        for (var b = 0; b < g.N; b++)
        for (var o = 0; o < g.K; o++)
        for (var i = 0; i < g.OutH; i++)
        for (var j = 0; j < g.OutW; j++)
        {
            var yi = ((b * g.K + o) * g.OutH + i) * g.OutW + j;
            for (var ci = 0; ci < g.C; ci++)
            for (var a = 0; a < g.KH; a++)
            for (var e = 0; e < g.KW; e++)
            {
                var ih = i * g.StrideH - g.PadH + a * g.DilationH;
                var iw = j * g.StrideW - g.PadW + e * g.DilationW;
                if (ih < 0 || ih >= g.H || iw < 0 || iw >= g.W)
                    continue;
                var xi = ((b * g.C + ci) * g.H + ih) * g.W + iw;
                var wi = ((o * g.C + ci) * g.KH + a) * g.KW + e;
                y[yi] += (double)x[xi] * w[wi];
                gx[xi] += (double)gy[yi] * w[wi];
                gw[wi] += (double)gy[yi] * x[xi];
            }
        }
        return (y, gx, gw);
    }
}
