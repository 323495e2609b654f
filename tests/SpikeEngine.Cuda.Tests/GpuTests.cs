using SpikeEngine.Cuda.Interop;
using SpikeEngine.Cuda.Kernels;
using SpikeEngine.Cuda.Memory;

namespace SpikeEngine.Cuda.Tests;

/// <summary>
/// Checks of the driver-level path (run by the GPU bundle): the neuron kernels launched directly
/// also run on the CPU emulation; the driver, pinned memory and the vendor libraries need a real
/// GPU and skip visibly without one. Results are compared with plain C# loops written from the
/// equations, never with the GPU itself.
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

    internal static float[] Random(int n, int seed, float lo, float hi)
    {
        var rng = new Random(seed);
        return [.. Enumerable.Range(0, n).Select(_ => lo + (hi - lo) * rng.NextSingle())];
    }

    /// <summary>A kernel file loaded on the GPU, or on the CPU emulation when <c>SPIKEENGINE_CUDA_EMULATE=1</c>, with an allocator of that device's memory.</summary>
    private sealed class KernelRig : IDisposable
    {
        private readonly EmulatedDevice? emulator;

        private KernelRig(CudaDevice? device, EmulatedDevice? emulator, string file)
        {
            Device = device;
            this.emulator = emulator;
            Allocator = new CachingAllocator(
                emulator is not null ? emulator.Memory : new DriverMemorySource(device!)
            );
            Module = emulator is not null
                ? CudaModule.LoadEmulated(emulator, file)
                : CudaModule.Load(device!, file);
        }

        public CudaDevice? Device { get; }

        public CachingAllocator Allocator { get; }

        public CudaModule Module { get; }

        public static KernelRig Open(string file)
        {
            if (CudaRuntime.IsEmulated)
            {
                Requirements.Emulation();
                return new KernelRig(null, new EmulatedDevice(), file);
            }
            Requirements.Gpu();
            return new KernelRig(CudaDevice.Open(), null, file);
        }

        public void Synchronize() => Device?.Synchronize();

        public void Dispose()
        {
            Module.Dispose();
            Allocator.Dispose();
            emulator?.Dispose();
            Device?.Dispose();
        }
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

    /// <summary>kernel, kind, hard, detach, decay_input, surrogate (as <see cref="NeuronReference"/>).</summary>
    public static TheoryData<string, int, bool, bool, bool, int> NeuronCases() =>
        new()
        {
            { KernelNames.NeuronFwdF32, 1, true, false, true, 0 },
            { KernelNames.NeuronFwdF32, 0, false, false, false, 1 },
            { KernelNames.NeuronFwdF32, 2, true, true, true, 3 },
            { KernelNames.NeuronFwdF32, 2, false, false, false, 4 },
            { KernelNames.NeuronFwdBf16, 1, true, false, true, 2 },
            { KernelNames.NeuronFwdF16, 1, false, true, false, 5 },
            { KernelNames.NeuronFwdBf16, 2, true, false, true, 0 },
            { KernelNames.NeuronFwdF16, 2, false, false, false, 0 },
        };

    internal static DType StateOf(string fwdName) =>
        fwdName == KernelNames.NeuronFwdF32 ? DType.Float32
        : fwdName == KernelNames.NeuronFwdBf16 ? DType.BFloat16
        : DType.Float16;

    /// <summary>
    /// The case of <see cref="NeuronCases"/>: τ = 3 and PLIF w = 0.3 (inexact decays, so rounding
    /// differences would show), v_th = 1, hard reset to 0, and the inputs of
    /// <see cref="NeuronInputs"/>.
    /// </summary>
    internal static NeuronCase CaseOf(
        int kind,
        bool hard,
        bool detach,
        bool decayInput,
        int surrogate
    ) =>
        new(
            kind,
            hard,
            detach,
            decayInput,
            1f / 3f,
            0.3f,
            1.0f,
            0.0f,
            surrogate,
            surrogate == 0 ? 4
                : surrogate == 1 || surrogate == 3 ? 2
                : 1
        );

    /// <summary>
    /// x (T, M), v0 (M) and dL/dS (T, M). For IF and LIF every fourth x[0] is planted next to v_th;
    /// not for PLIF, whose k = sigmoid(w) comes from each platform's exp (within an ulp or two, not
    /// bit for bit), so H there agrees to rounding, not exactly.
    /// </summary>
    internal static (float[] X, float[] V0, float[] GS) NeuronInputs(NeuronCase c, int T, int M)
    {
        var x = Random(T * M, 2, -0.5f, 1.5f);
        var v0 = Random(M, 3, -0.2f, 0.6f);
        if (c.Kind != 2)
            NeuronReference.PlantNearThreshold(c, x, v0, M);
        return (x, v0, Random(T * M, 4, -1, 1));
    }

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
        using var rig = KernelRig.Open("neuron.cu");
        var module = rig.Module;
        var alloc = rig.Allocator;
        const int T = 7,
            M = 1000; // M not a multiple of the block size
        var c = CaseOf(kind, hard, detach, decayInput, surrogate);
        var state = StateOf(fwdName);
        var (x, v0, gs) = NeuronInputs(c, T, M);
        var (s, h, vLast) = NeuronReference.Forward(c, x, v0, T, M);
        var saved = NeuronReference.Saved(c, h, state);

        var hBytes = state == DType.Float32 ? 4 : 2;
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

        var before = KernelLauncher.ThreadLaunchCount;
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
        rig.Synchronize();
        Assert.Equal(before + 2, KernelLauncher.ThreadLaunchCount);
        var registers = rig.Device is null
            ? ""
            : $", {module.Function(fwdName).Registers} registers";
        Requirements.Log(
            $"{fwdName}/{bwdName} kind {kind} hard {hard} detach {detach} decay {decayInput} sg {surrogate}: module from {module.Origin} ({module.Target}){registers}"
        );

        // Without FMA contraction the kernel rounds as the reference does: spikes, the saved state
        // (16-bit: H - v_th rounded with its sign kept) and V_T agree exactly, in every storage type
        // (PLIF: to rounding, its k comes from expf); backward runs from that same state.
        var exact = kind == 2 ? 1e-6f : 0f;
        AssertClose("s_seq", s, ds.ToArray<float>(T * M), 0, 0);
        var hGpu =
            state == DType.Float32
                ? dh.ToArray<float>(T * M)
                :
                [
                    .. dh.ToArray<ushort>(T * M)
                        .Select(b =>
                            state == DType.BFloat16
                                ? BitConverter.UInt32BitsToSingle((uint)b << 16)
                                : (float)BitConverter.UInt16BitsToHalf(b)
                        ),
                ];
        AssertClose($"h_seq ({state.Name()})", saved, hGpu, exact, exact);
        AssertClose("v_last", vLast, dvLast.ToArray<float>(M), exact, exact);
        var (gx, gv0, gw) = NeuronReference.Backward(c, gs, saved, state, v0, T, M);
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

    [Fact]
    public void A_corrupt_cached_kernel_image_is_deleted_and_compiled_again()
    {
        Requirements.Gpu();
        Requirements.Nvrtc();
        const string file = "random.cu";
        if (KernelSources.PrecompiledPtx(file) is not null)
            Assert.Skip("precompiled PTX is embedded in this build: the disk cache is not read");
        var dir = Path.Combine(Path.GetTempPath(), $"spike-kernel-cache-{Guid.NewGuid():N}");
        var previous = Environment.GetEnvironmentVariable(KernelCache.DirectoryVariable);
        Environment.SetEnvironmentVariable(KernelCache.DirectoryVariable, dir);
        try
        {
            using var device = CudaDevice.Open();
            using (var first = CudaModule.Load(device, file))
                Assert.Equal(KernelOrigin.Nvrtc, first.Origin);
            var cached = Assert.Single(Directory.GetFiles(dir));
            var garbage = "not a kernel image"u8.ToArray();
            File.WriteAllBytes(cached, garbage);
            using (var second = CudaModule.Load(device, file))
                Assert.Equal(KernelOrigin.Nvrtc, second.Origin);
            Assert.NotEqual(garbage, File.ReadAllBytes(cached));
            using var third = CudaModule.Load(device, file);
            Assert.Equal(KernelOrigin.DiskCache, third.Origin);
        }
        finally
        {
            Environment.SetEnvironmentVariable(KernelCache.DirectoryVariable, previous);
            if (Directory.Exists(dir))
                Directory.Delete(dir, recursive: true);
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
