using SpikeEngine.Cuda.Interop;
using SpikeEngine.Cuda.Kernels;
using SpikeEngine.Cuda.Memory;

namespace SpikeEngine.Cuda.Tests;

/// <summary>
/// Checks that need a real GPU (run by the GPU bundle); each skips visibly without one. Results
/// are compared with plain C# loops written from the equations, never with the GPU itself.
/// </summary>
public sealed unsafe class GpuTests
{
    private static void AssertClose(
        string what,
        ReadOnlySpan<float> expected,
        ReadOnlySpan<float> actual,
        float atol,
        float rtol
    ) => Approx.Close(what, actual, expected, atol, rtol);

    private static float[] Random(int n, int seed, float lo, float hi)
    {
        var rng = new Random(seed);
        return [.. Enumerable.Range(0, n).Select(_ => lo + (hi - lo) * rng.NextSingle())];
    }

    [Fact]
    public void Device_query_reports_name_architecture_and_memory()
    {
        Requirements.Gpu();
        using var device = CudaDevice.Open();
        var (free, total) = device.MemoryInfo();
        int driver;
        CudaDriver.Check(CudaDriver.cuDriverGetVersion(&driver));
        Requirements.Log(
            $"device 0: {device}; driver CUDA {driver / 1000}.{driver % 1000 / 10}; free {CachingAllocator.Human(free)} of {CachingAllocator.Human(total)}"
        );
        Assert.True(
            device.ComputeCapability.Major >= 5,
            $"compute capability {device.ComputeCapability}"
        );
        Assert.True(device.MultiprocessorCount > 0);
        Assert.Equal(device.TotalMemory, total);
        Assert.InRange(free, 1, total);
    }

    [Fact]
    public void Allocation_and_copy_round_trip_through_the_caching_allocator_and_pinned_memory()
    {
        Requirements.Gpu();
        using var device = CudaDevice.Open();
        using var alloc = new CachingAllocator(new DriverMemorySource(device));
        var data = Random(1_000_003, 1, -5, 5);
        using var a = alloc.Allocate(data.Length * 4L);
        using var b = alloc.Allocate(data.Length * 4L);
        a.CopyFrom<float>(data);
        b.CopyFrom(a);
        device.Synchronize();
        Assert.Equal(data, b.ToArray<float>(data.Length));

        using var pinned = PinnedHostBuffer.Allocate(device, data.Length * 4L);
        pinned.AsSpan<float>().Clear();
        pinned.CopyFromDeviceAsync(b, data.Length * 4L);
        device.Synchronize();
        Assert.True(pinned.AsSpan<float>().SequenceEqual(data));

        b.Fill32(BitConverter.SingleToUInt32Bits(2.5f));
        device.Synchronize();
        Assert.All(b.ToArray<float>(17), v => Assert.Equal(2.5f, v));
        var stats = alloc.Stats;
        Requirements.Log(
            $"allocator: current {stats.CurrentBytes}, peak {stats.PeakBytes}, reserved {stats.ReservedBytes}, live {stats.LiveCount}"
        );
        Assert.Equal(2, stats.LiveCount);
    }

    // --- neuron reference: ARCHITECTURE.md section 4, written as a plain loop

    private sealed record NeuronCase(
        int Kind,
        bool Hard,
        bool Detach,
        bool DecayInput,
        float InvTau,
        float PlifW,
        float VTh,
        float VReset,
        int Surrogate,
        float Alpha
    )
    {
        public float K =>
            Kind == 2 ? 1f / (1f + MathF.Exp(-PlifW))
            : Kind == 1 ? InvTau
            : 0f;
    }

    private static float Charge(NeuronCase c, float v, float x)
    {
        var vr = c.Hard ? c.VReset : 0f;
        if (c.Kind == 0)
            return v + x;
        return c.DecayInput ? v + (x - (v - vr)) * c.K : v - (v - vr) * c.K + x;
    }

    private static float Reset(NeuronCase c, float h, float s) =>
        c.Hard ? h * (1 - s) + c.VReset * s : h - c.VTh * s;

    private static float Surrogate(int kind, float x, float a) =>
        kind switch
        {
            0 => a * (1 / (1 + MathF.Exp(-a * x))) * (1 - 1 / (1 + MathF.Exp(-a * x))),
            1 => a / 2 / (1 + MathF.Pow(MathF.PI * a * x / 2, 2)),
            2 => MathF.Max(0, a - a * a * MathF.Abs(x)),
            3 => a / MathF.Sqrt(MathF.PI) * MathF.Exp(-a * a * x * x),
            4 => a / ((1 + MathF.Abs(x)) * (1 + MathF.Abs(x))),
            _ => MathF.Abs(x) < 1 / (2 * a) ? a : 0,
        };

    private static (float[] S, float[] H, float[] VLast) NeuronForward(
        NeuronCase c,
        float[] x,
        float[] v0,
        int T,
        int M
    )
    {
        var s = new float[T * M];
        var h = new float[T * M];
        var vLast = new float[M];
        for (var i = 0; i < M; i++)
        {
            var v = v0[i];
            for (var t = 0; t < T; t++)
            {
                var idx = t * M + i;
                h[idx] = Charge(c, v, x[idx]);
                s[idx] = h[idx] >= c.VTh ? 1 : 0;
                v = Reset(c, h[idx], s[idx]);
            }
            vLast[i] = v;
        }
        return (s, h, vLast);
    }

    private static (float[] GX, float[] GV0, float GW) NeuronBackward(
        NeuronCase c,
        float[] gs,
        float[] h,
        float[] v0,
        int T,
        int M
    )
    {
        var gx = new float[T * M];
        var gv0 = new float[M];
        var k = c.K;
        var beta = c.Kind == 0 ? 1 : 1 - k;
        var gamma = c.Kind != 0 && c.DecayInput ? k : 1;
        var vr = c.Hard ? c.VReset : 0f;
        double gk = 0;
        for (var i = 0; i < M; i++)
        {
            float g = 0;
            for (var t = T - 1; t >= 0; t--)
            {
                var idx = t * M + i;
                var psi = Surrogate(c.Surrogate, h[idx] - c.VTh, c.Alpha);
                var s = h[idx] >= c.VTh ? 1f : 0f;
                var dvdh = c.Hard
                    ? (1 - s) + (c.Detach ? 0 : (c.VReset - h[idx]) * psi)
                    : 1 - (c.Detach ? 0 : c.VTh * psi);
                g = beta * g * dvdh + gs[idx] * psi;
                gx[idx] = gamma * g;
                var vPrev = t > 0 ? Reset(c, h[idx - M], h[idx - M] >= c.VTh ? 1 : 0) : v0[i];
                gk += g * (c.DecayInput ? (h[idx] - vPrev) / k : -(vPrev - vr));
            }
            gv0[i] = beta * g;
        }
        return (gx, gv0, (float)(k * (1 - k) * gk));
    }

    public static TheoryData<string, int, bool, bool, bool, int> NeuronCases() =>
        new()
        {
            { KernelNames.NeuronFwdF32, 1, true, false, true, 0 },
            { KernelNames.NeuronFwdF32, 0, false, false, false, 1 },
            { KernelNames.NeuronFwdF32, 2, true, true, true, 3 },
            { KernelNames.NeuronFwdF32, 2, false, false, false, 4 },
            { KernelNames.NeuronFwdBf16, 1, true, false, true, 2 },
            { KernelNames.NeuronFwdF16, 1, false, true, false, 5 },
        };

    [Theory]
    [MemberData(nameof(NeuronCases))]
    public void Neuron_forward_and_backward_match_the_reference(
        string fwdName,
        int kind,
        bool hard,
        bool detach,
        bool decayInput,
        int surrogate
    )
    {
        Requirements.Gpu();
        using var device = CudaDevice.Open();
        using var module = CudaModule.Load(device, "neuron.cu");
        using var alloc = new CachingAllocator(new DriverMemorySource(device));
        const int T = 7,
            M = 1000; // M not a multiple of the block size
        var c = new NeuronCase(
            kind,
            hard,
            detach,
            decayInput,
            0.5f,
            0.3f,
            1.0f,
            0.0f,
            surrogate,
            surrogate == 0 ? 4
                : surrogate == 1 || surrogate == 3 ? 2
                : 1
        );
        var x = Random(T * M, 2, -0.5f, 1.5f);
        var v0 = Random(M, 3, -0.2f, 0.6f);
        var gs = Random(T * M, 4, -1, 1);
        var (s, h, vLast) = NeuronForward(c, x, v0, T, M);

        var hBytes = fwdName == KernelNames.NeuronFwdF32 ? 4 : 2;
        using var dx = alloc.Allocate(T * M * 4L);
        using var dv0 = alloc.Allocate(M * 4L);
        using var dw = alloc.Allocate(4);
        using var ds = alloc.Allocate(T * M * 4L);
        using var dh = alloc.Allocate(T * M * (long)hBytes);
        using var dvLast = alloc.Allocate(M * 4L);
        using var dgs = alloc.Allocate(T * M * 4L);
        using var dgx = alloc.Allocate(T * M * 4L);
        using var dgv0 = alloc.Allocate(M * 4L);
        using var dgw = alloc.Allocate(4);
        dx.CopyFrom<float>(x);
        dv0.CopyFrom<float>(v0);
        dw.CopyFrom<float>([c.PlifW]);
        dgs.CopyFrom<float>(gs);
        dgw.Clear();

        var before = KernelLauncher.LaunchCount;
        KernelLauncher.Launch(
            module.Function(fwdName),
            KernelLauncher.GridFor(M, 128),
            128,
            CudaStream.Null,
            dx,
            dv0,
            dw,
            ds,
            dh,
            KernelArg.Null,
            dvLast,
            KernelArg.Null,
            T,
            M,
            kind,
            hard,
            decayInput,
            c.InvTau,
            c.VTh,
            c.VReset
        );
        var bwdName = fwdName.Replace("_fwd_", "_bwd_", StringComparison.Ordinal);
        KernelLauncher.Launch(
            module.Function(bwdName),
            KernelLauncher.GridFor(M, 128),
            128,
            CudaStream.Null,
            dgs,
            KernelArg.Null,
            KernelArg.Null,
            dh,
            dv0,
            dw,
            dgx,
            dgv0,
            dgw,
            T,
            M,
            kind,
            hard,
            detach,
            decayInput,
            surrogate,
            c.Alpha,
            c.InvTau,
            c.VTh,
            c.VReset
        );
        device.Synchronize();
        Assert.Equal(before + 2, KernelLauncher.LaunchCount);
        Requirements.Log(
            $"{fwdName}/{bwdName} kind {kind} hard {hard} detach {detach} decay {decayInput} sg {surrogate}: module from {module.Origin} ({module.Target}), {module.Function(fwdName).Registers} registers"
        );

        // 16-bit storage rounds H, which can flip a spike right at threshold: compare fp32 exactly,
        // and for bf16/f16 compare H with the storage tolerance and the rest only where no flip happened.
        if (hBytes == 4)
        {
            AssertClose("s_seq", s, ds.ToArray<float>(T * M), 0, 0);
            AssertClose("h_seq", h, dh.ToArray<float>(T * M), 1e-5f, 1e-5f);
            AssertClose("v_last", vLast, dvLast.ToArray<float>(M), 1e-5f, 1e-5f);
            var (gx, gv0, gw) = NeuronBackward(c, gs, h, v0, T, M);
            AssertClose("grad_x_seq", gx, dgx.ToArray<float>(T * M), 1e-4f, 1e-4f);
            AssertClose("grad_v0", gv0, dgv0.ToArray<float>(M), 1e-4f, 1e-4f);
            if (kind == 2)
            {
                AssertClose("grad_w", [gw], dgw.ToArray<float>(1), 1e-3f, 1e-3f);
            }
            else
            {
                Assert.Equal(0f, dgw.ToArray<float>(1)[0]);
            }
        }
        else
        {
            var raw = dh.ToArray<ushort>(T * M);
            var hGpu = raw.Select(b =>
                    fwdName == KernelNames.NeuronFwdBf16
                        ? BitConverter.UInt32BitsToSingle((uint)b << 16)
                        : (float)BitConverter.UInt16BitsToHalf(b)
                )
                .ToArray();
            var rtol = fwdName == KernelNames.NeuronFwdBf16 ? 1f / 256 : 1f / 2048;
            AssertClose("h_seq (16-bit)", h, hGpu, 1e-6f, rtol);
            AssertClose("s_seq", s, ds.ToArray<float>(T * M), 0, 0);
        }
    }

    [Fact]
    public void Sgemm_matches_a_reference_loop()
    {
        Requirements.GpuLibrary(CudaLibrary.Cublas);
        using var device = CudaDevice.Open();
        using var alloc = new CachingAllocator(new DriverMemorySource(device));
        const int m = 67,
            n = 45,
            k = 33; // column-major C (m x n) = A (m x k) * B (k x n)
        var a = Random(m * k, 5, -1, 1);
        var b = Random(k * n, 6, -1, 1);
        var expected = new float[m * n];
        for (var j = 0; j < n; j++)
        for (var i = 0; i < m; i++)
        {
            double acc = 0;
            for (var p = 0; p < k; p++)
                acc += a[p * m + i] * b[j * k + p];
            expected[j * m + i] = (float)acc;
        }
        using var da = alloc.Allocate(a.Length * 4L);
        using var db = alloc.Allocate(b.Length * 4L);
        using var dc = alloc.Allocate(expected.Length * 4L);
        da.CopyFrom<float>(a);
        db.CopyFrom<float>(b);
        IntPtr h;
        Cublas.Check(Cublas.cublasCreate_v2(&h));
        using var handle = new CublasHandle(device.Context, h);
        float alpha = 1,
            beta = 0;
        Cublas.Check(
            Cublas.cublasSgemm_v2(
                h,
                cublasOperation_t.CUBLAS_OP_N,
                cublasOperation_t.CUBLAS_OP_N,
                m,
                n,
                k,
                &alpha,
                da.Pointer,
                m,
                db.Pointer,
                k,
                &beta,
                dc.Pointer,
                m
            )
        );
        device.Synchronize();
        AssertClose("sgemm C", expected, dc.ToArray<float>(expected.Length), 1e-4f, 1e-4f);
        int version;
        Cublas.Check(Cublas.cublasGetVersion_v2(h, &version));
        Requirements.Log($"cuBLAS {version}: SGEMM {m}x{n}x{k} matches the reference loop");
    }

    [Fact]
    public void Cudnn_convolution_forward_matches_a_reference_loop()
    {
        Requirements.GpuLibrary(CudaLibrary.Cudnn);
        using var device = CudaDevice.Open();
        using var alloc = new CachingAllocator(new DriverMemorySource(device));
        const int N = 2,
            C = 3,
            H = 9,
            W = 9,
            K = 4,
            R = 3,
            S = 3,
            pad = 1,
            stride = 2;
        const int P = (H + 2 * pad - R) / stride + 1,
            Q = (W + 2 * pad - S) / stride + 1;
        var x = Random(N * C * H * W, 7, -1, 1);
        var w = Random(K * C * R * S, 8, -1, 1);
        var expected = new float[N * K * P * Q];
        for (var nn = 0; nn < N; nn++)
        for (var kk = 0; kk < K; kk++)
        for (var p = 0; p < P; p++)
        for (var q = 0; q < Q; q++)
        {
            double acc = 0;
            for (var cc = 0; cc < C; cc++)
            for (var r = 0; r < R; r++)
            for (var s = 0; s < S; s++)
            {
                int hi = p * stride - pad + r,
                    wi = q * stride - pad + s;
                if (hi >= 0 && hi < H && wi >= 0 && wi < W)
                    acc +=
                        x[((nn * C + cc) * H + hi) * W + wi] * w[((kk * C + cc) * R + r) * S + s];
            }
            expected[((nn * K + kk) * P + p) * Q + q] = (float)acc;
        }

        IntPtr handle,
            xDesc,
            yDesc,
            wDesc,
            convDesc;
        Cudnn.Check(Cudnn.cudnnCreate(&handle));
        using var owner = new CudnnHandle(device.Context, handle);
        Cudnn.Check(Cudnn.cudnnCreateTensorDescriptor(&xDesc));
        Cudnn.Check(Cudnn.cudnnCreateTensorDescriptor(&yDesc));
        Cudnn.Check(Cudnn.cudnnCreateFilterDescriptor(&wDesc));
        Cudnn.Check(Cudnn.cudnnCreateConvolutionDescriptor(&convDesc));
        try
        {
            Cudnn.Check(
                Cudnn.cudnnSetTensor4dDescriptor(
                    xDesc,
                    cudnnTensorFormat_t.CUDNN_TENSOR_NCHW,
                    cudnnDataType_t.CUDNN_DATA_FLOAT,
                    N,
                    C,
                    H,
                    W
                )
            );
            Cudnn.Check(
                Cudnn.cudnnSetFilter4dDescriptor(
                    wDesc,
                    cudnnDataType_t.CUDNN_DATA_FLOAT,
                    cudnnTensorFormat_t.CUDNN_TENSOR_NCHW,
                    K,
                    C,
                    R,
                    S
                )
            );
            Cudnn.Check(
                Cudnn.cudnnSetConvolution2dDescriptor(
                    convDesc,
                    pad,
                    pad,
                    stride,
                    stride,
                    1,
                    1,
                    cudnnConvolutionMode_t.CUDNN_CROSS_CORRELATION,
                    cudnnDataType_t.CUDNN_DATA_FLOAT
                )
            );
            Cudnn.Check(
                Cudnn.cudnnSetConvolutionMathType(convDesc, cudnnMathType_t.CUDNN_FMA_MATH)
            );
            int on,
                oc,
                oh,
                ow;
            Cudnn.Check(
                Cudnn.cudnnGetConvolution2dForwardOutputDim(
                    convDesc,
                    xDesc,
                    wDesc,
                    &on,
                    &oc,
                    &oh,
                    &ow
                )
            );
            Assert.Equal((N, K, P, Q), (on, oc, oh, ow));
            Cudnn.Check(
                Cudnn.cudnnSetTensor4dDescriptor(
                    yDesc,
                    cudnnTensorFormat_t.CUDNN_TENSOR_NCHW,
                    cudnnDataType_t.CUDNN_DATA_FLOAT,
                    N,
                    K,
                    P,
                    Q
                )
            );
            var perf = stackalloc cudnnConvolutionAlgoPerf_t[8];
            int returned;
            Cudnn.Check(
                Cudnn.cudnnGetConvolutionForwardAlgorithm_v7(
                    handle,
                    xDesc,
                    wDesc,
                    convDesc,
                    yDesc,
                    8,
                    &returned,
                    perf
                )
            );
            Assert.True(returned > 0);
            var algo = perf[0].algo;
            nuint wsBytes;
            Cudnn.Check(
                Cudnn.cudnnGetConvolutionForwardWorkspaceSize(
                    handle,
                    xDesc,
                    wDesc,
                    convDesc,
                    yDesc,
                    algo,
                    &wsBytes
                )
            );
            using var dx = alloc.Allocate(x.Length * 4L);
            using var dw = alloc.Allocate(w.Length * 4L);
            using var dy = alloc.Allocate(expected.Length * 4L);
            using var ws = alloc.Allocate(Math.Max(1, (long)wsBytes));
            dx.CopyFrom<float>(x);
            dw.CopyFrom<float>(w);
            float alpha = 1,
                beta = 0;
            Cudnn.Check(
                Cudnn.cudnnConvolutionForward(
                    handle,
                    &alpha,
                    xDesc,
                    dx.Pointer,
                    wDesc,
                    dw.Pointer,
                    convDesc,
                    algo,
                    ws.Pointer,
                    wsBytes,
                    &beta,
                    yDesc,
                    dy.Pointer
                )
            );
            device.Synchronize();
            AssertClose("conv y", expected, dy.ToArray<float>(expected.Length), 1e-4f, 1e-4f);
            Requirements.Log(
                $"cuDNN {Cudnn.cudnnGetVersion()}: conv {N}x{C}x{H}x{W} * {K}x{C}x{R}x{S} (pad {pad}, stride {stride}) algo {algo}, workspace {wsBytes} B, matches the reference loop"
            );
        }
        finally
        {
            _ = Cudnn.cudnnDestroyConvolutionDescriptor(convDesc);
            _ = Cudnn.cudnnDestroyFilterDescriptor(wDesc);
            _ = Cudnn.cudnnDestroyTensorDescriptor(yDesc);
            _ = Cudnn.cudnnDestroyTensorDescriptor(xDesc);
        }
    }
}
