using SpikeEngine.Cuda.Interop;
using SpikeEngine.Cuda.Memory;

namespace SpikeEngine.Cuda;

// Convolutions through cuDNN (NCHW, fp32, cross-correlation). A plan per geometry holds the
// descriptors and, per pass, the algorithm ConvAlgorithms picks from cuDNN's heuristics (fastest
// first; usable with the allowed math, FMA only unless AllowTf32; deterministic ones first unless
// Deterministic is off; the first whose workspace can be allocated), its workspace size and the
// math type set on the descriptor before each call. The workspace is taken from the caching
// allocator for each call and returned right after (stream order keeps it valid for the queued
// kernel); when it cannot be allocated the pass picks again among smaller workspaces.
public sealed unsafe partial class CudaBackend
{
    private CudnnHandle? _cudnn;
    private readonly Dictionary<ConvGeometry, ConvPlan> _convPlans = [];

    private sealed class ConvPlan
    {
        public IntPtr X,
            W,
            Y,
            Conv;
        public readonly PassPlan Fwd = new(),
            BwdData = new(),
            BwdFilter = new();
    }

    private sealed class PassPlan
    {
        public int Algo = -1;
        public nuint Bytes;
        public cudnnMathType_t Math;
    }

    /// <summary>Whether convolutions prefer deterministic algorithms (from <see cref="ConvAlgorithms.DeterministicVariable"/>, default on; affects plans made afterwards).</summary>
    public bool Deterministic { get; set; } = ConvAlgorithms.DeterministicFromEnvironment;

    // One pass's candidates (cuDNN's v7 heuristics, up to 8, ranked) and an algorithm's workspace.
    private delegate cudnnConvolutionAlgoPerf_t[] RankAlgorithms(IntPtr handle, ConvPlan plan);

    private delegate nuint WorkspaceOf(IntPtr handle, ConvPlan plan, int algo);

    // Called under _libraryGate: picks the pass's algorithm if it has none, sets its math type,
    // allocates its workspace (picking again below a workspace that failed) and runs the call.
    private void RunPass(
        string pass,
        IntPtr h,
        ConvPlan p,
        PassPlan pp,
        RankAlgorithms rank,
        WorkspaceOf workspace,
        Action<ulong> run
    )
    {
        var limit = nuint.MaxValue;
        while (true)
        {
            if (pp.Algo < 0)
            {
                Cudnn.Check(Cudnn.cudnnSetConvolutionMathType(p.Conv, ConvMath));
                var ranked = rank(h, p)
                    .Select(c => new ConvCandidate(
                        c.algo,
                        c.status == cudnnStatus_t.CUDNN_STATUS_SUCCESS,
                        c.determinism == cudnnDeterminism_t.CUDNN_DETERMINISTIC,
                        c.mathType,
                        c.status == cudnnStatus_t.CUDNN_STATUS_SUCCESS ? workspace(h, p, c.algo) : 0
                    ))
                    .ToArray();
                var (chosen, math) = ConvAlgorithms.Pick(
                    pass,
                    ranked,
                    AllowTf32,
                    Deterministic,
                    bytes => bytes < limit && TryReserve(bytes)
                );
                (pp.Algo, pp.Bytes, pp.Math) = (chosen.Algo, chosen.WorkspaceBytes, math);
            }
            Cudnn.Check(Cudnn.cudnnSetConvolutionMathType(p.Conv, pp.Math));
            DeviceBuffer? ws;
            try
            {
                ws = pp.Bytes == 0 ? null : Allocator.Allocate((long)pp.Bytes);
            }
            catch (CudaOutOfMemoryException)
            {
                limit = pp.Bytes;
                pp.Algo = -1;
                continue;
            }
            using (ws)
                run(ws?.Pointer ?? 0);
            return;
        }
    }

    // Whether a workspace of this size can be allocated now (the block then stays in the
    // allocator's cache for the call that follows).
    private bool TryReserve(nuint bytes)
    {
        try
        {
            using var probe = Allocator.Allocate((long)bytes);
            return true;
        }
        catch (CudaOutOfMemoryException)
        {
            return false;
        }
    }

    private IntPtr CudnnHandle()
    {
        if (_cudnn is null)
        {
            IntPtr h;
            Cudnn.Check(Cudnn.cudnnCreate(&h));
            Cudnn.Check(Cudnn.cudnnSetStream(h, IntPtr.Zero));
            _cudnn = new CudnnHandle(Gpu!.Context, h);
        }
        return _cudnn.DangerousGetHandle();
    }

    // The math type the heuristics are asked under (each pass then sets its candidate's own).
    private cudnnMathType_t ConvMath =>
        AllowTf32 ? cudnnMathType_t.CUDNN_DEFAULT_MATH : cudnnMathType_t.CUDNN_FMA_MATH;

    // Called under _libraryGate.
    private ConvPlan Plan(in ConvGeometry g)
    {
        if (_convPlans.TryGetValue(g, out var plan))
            return plan;
        plan = new ConvPlan();
        IntPtr x,
            w,
            y,
            conv;
        Cudnn.Check(Cudnn.cudnnCreateTensorDescriptor(&x));
        Cudnn.Check(Cudnn.cudnnCreateFilterDescriptor(&w));
        Cudnn.Check(Cudnn.cudnnCreateTensorDescriptor(&y));
        Cudnn.Check(Cudnn.cudnnCreateConvolutionDescriptor(&conv));
        (plan.X, plan.W, plan.Y, plan.Conv) = (x, w, y, conv);
        const cudnnDataType_t f32 = cudnnDataType_t.CUDNN_DATA_FLOAT;
        const cudnnTensorFormat_t nchw = cudnnTensorFormat_t.CUDNN_TENSOR_NCHW;
        Cudnn.Check(Cudnn.cudnnSetTensor4dDescriptor(x, nchw, f32, g.N, g.C, g.H, g.W));
        Cudnn.Check(Cudnn.cudnnSetFilter4dDescriptor(w, f32, nchw, g.K, g.C, g.KH, g.KW));
        Cudnn.Check(
            Cudnn.cudnnSetConvolution2dDescriptor(
                conv,
                g.PadH,
                g.PadW,
                g.StrideH,
                g.StrideW,
                g.DilationH,
                g.DilationW,
                cudnnConvolutionMode_t.CUDNN_CROSS_CORRELATION,
                f32
            )
        );
        int on,
            oc,
            oh,
            ow;
        Cudnn.Check(Cudnn.cudnnGetConvolution2dForwardOutputDim(conv, x, w, &on, &oc, &oh, &ow));
        if ((on, oc, oh, ow) != (g.N, g.K, g.OutH, g.OutW))
            throw new InvalidOperationException(
                $"Conv2d: cuDNN's output {on}x{oc}x{oh}x{ow} differs from the geometry's {g.N}x{g.K}x{g.OutH}x{g.OutW}"
            );
        Cudnn.Check(Cudnn.cudnnSetTensor4dDescriptor(y, nchw, f32, on, oc, oh, ow));
        _convPlans[g] = plan;
        return plan;
    }

    private const int MaxCandidates = 8;

    public void Conv2dForward(Tensor x, Tensor w, Tensor y, in ConvGeometry g)
    {
        const string op = "Conv2dForward";
        var xp = Ptr(op, "x", x).Bits;
        var wp = Ptr(op, "w", w).Bits;
        var yp = Ptr(op, "y", y).Bits;
        var geo = g;
        if (Emulator is not null)
        {
            OnHost([x, w], y, (h, o) => HostBackend.Conv2dForward(h[0], h[1], o, geo));
            return;
        }
        LibraryCall(() =>
        {
            var h = CudnnHandle();
            var p = Plan(geo);
            RunPass(
                "forward",
                h,
                p,
                p.Fwd,
                (hh, pl) =>
                {
                    var perf = new cudnnConvolutionAlgoPerf_t[MaxCandidates];
                    int returned;
                    fixed (cudnnConvolutionAlgoPerf_t* pf = perf)
                        Cudnn.Check(
                            Cudnn.cudnnGetConvolutionForwardAlgorithm_v7(
                                hh,
                                pl.X,
                                pl.W,
                                pl.Conv,
                                pl.Y,
                                MaxCandidates,
                                &returned,
                                pf
                            )
                        );
                    return perf[..returned];
                },
                (hh, pl, algo) =>
                {
                    nuint bytes;
                    Cudnn.Check(
                        Cudnn.cudnnGetConvolutionForwardWorkspaceSize(
                            hh,
                            pl.X,
                            pl.W,
                            pl.Conv,
                            pl.Y,
                            algo,
                            &bytes
                        )
                    );
                    return bytes;
                },
                ws =>
                {
                    float alpha = 1,
                        beta = 0;
                    Cudnn.Check(
                        Cudnn.cudnnConvolutionForward(
                            h,
                            &alpha,
                            p.X,
                            xp,
                            p.W,
                            wp,
                            p.Conv,
                            p.Fwd.Algo,
                            ws,
                            p.Fwd.Bytes,
                            &beta,
                            p.Y,
                            yp
                        ),
                        $"cudnnConvolutionForward({geo}, algo {p.Fwd.Algo})"
                    );
                }
            );
        });
    }

    public void Conv2dBackwardData(Tensor gy, Tensor w, Tensor gx, in ConvGeometry g)
    {
        const string op = "Conv2dBackwardData";
        var gyp = Ptr(op, "gy", gy).Bits;
        var wp = Ptr(op, "w", w).Bits;
        var gxp = Ptr(op, "gx", gx).Bits;
        var geo = g;
        if (Emulator is not null)
        {
            OnHost([gy, w], gx, (h, o) => HostBackend.Conv2dBackwardData(h[0], h[1], o, geo));
            return;
        }
        LibraryCall(() =>
        {
            var h = CudnnHandle();
            var p = Plan(geo);
            RunPass(
                "backward data",
                h,
                p,
                p.BwdData,
                (hh, pl) =>
                {
                    var perf = new cudnnConvolutionAlgoPerf_t[MaxCandidates];
                    int returned;
                    fixed (cudnnConvolutionAlgoPerf_t* pf = perf)
                        Cudnn.Check(
                            Cudnn.cudnnGetConvolutionBackwardDataAlgorithm_v7(
                                hh,
                                pl.W,
                                pl.Y,
                                pl.Conv,
                                pl.X,
                                MaxCandidates,
                                &returned,
                                pf
                            )
                        );
                    return perf[..returned];
                },
                (hh, pl, algo) =>
                {
                    nuint bytes;
                    Cudnn.Check(
                        Cudnn.cudnnGetConvolutionBackwardDataWorkspaceSize(
                            hh,
                            pl.W,
                            pl.Y,
                            pl.Conv,
                            pl.X,
                            algo,
                            &bytes
                        )
                    );
                    return bytes;
                },
                ws =>
                {
                    float alpha = 1,
                        beta = 0;
                    Cudnn.Check(
                        Cudnn.cudnnConvolutionBackwardData(
                            h,
                            &alpha,
                            p.W,
                            wp,
                            p.Y,
                            gyp,
                            p.Conv,
                            p.BwdData.Algo,
                            ws,
                            p.BwdData.Bytes,
                            &beta,
                            p.X,
                            gxp
                        ),
                        $"cudnnConvolutionBackwardData({geo}, algo {p.BwdData.Algo})"
                    );
                }
            );
        });
    }

    public void Conv2dBackwardFilter(Tensor x, Tensor gy, Tensor gw, in ConvGeometry g)
    {
        const string op = "Conv2dBackwardFilter";
        var xp = Ptr(op, "x", x).Bits;
        var gyp = Ptr(op, "gy", gy).Bits;
        var gwp = Ptr(op, "gw", gw).Bits;
        var geo = g;
        if (Emulator is not null)
        {
            OnHost([x, gy], gw, (h, o) => HostBackend.Conv2dBackwardFilter(h[0], h[1], o, geo));
            return;
        }
        LibraryCall(() =>
        {
            var h = CudnnHandle();
            var p = Plan(geo);
            RunPass(
                "backward filter",
                h,
                p,
                p.BwdFilter,
                (hh, pl) =>
                {
                    var perf = new cudnnConvolutionAlgoPerf_t[MaxCandidates];
                    int returned;
                    fixed (cudnnConvolutionAlgoPerf_t* pf = perf)
                        Cudnn.Check(
                            Cudnn.cudnnGetConvolutionBackwardFilterAlgorithm_v7(
                                hh,
                                pl.X,
                                pl.Y,
                                pl.Conv,
                                pl.W,
                                MaxCandidates,
                                &returned,
                                pf
                            )
                        );
                    return perf[..returned];
                },
                (hh, pl, algo) =>
                {
                    nuint bytes;
                    Cudnn.Check(
                        Cudnn.cudnnGetConvolutionBackwardFilterWorkspaceSize(
                            hh,
                            pl.X,
                            pl.Y,
                            pl.Conv,
                            pl.W,
                            algo,
                            &bytes
                        )
                    );
                    return bytes;
                },
                ws =>
                {
                    float alpha = 1,
                        beta = 0;
                    Cudnn.Check(
                        Cudnn.cudnnConvolutionBackwardFilter(
                            h,
                            &alpha,
                            p.X,
                            xp,
                            p.Y,
                            gyp,
                            p.Conv,
                            p.BwdFilter.Algo,
                            ws,
                            p.BwdFilter.Bytes,
                            &beta,
                            p.W,
                            gwp
                        ),
                        $"cudnnConvolutionBackwardFilter({geo}, algo {p.BwdFilter.Algo})"
                    );
                }
            );
        });
    }

    /// <summary>Convolution plans cached so far (one per geometry).</summary>
    public int ConvPlanCount
    {
        get
        {
            lock (_libraryGate)
                return _convPlans.Count;
        }
    }

    private void DisposeConvPlans()
    {
        lock (_libraryGate)
        {
            foreach (var p in _convPlans.Values)
            {
                _ = Cudnn.cudnnDestroyTensorDescriptor(p.X);
                _ = Cudnn.cudnnDestroyFilterDescriptor(p.W);
                _ = Cudnn.cudnnDestroyTensorDescriptor(p.Y);
                _ = Cudnn.cudnnDestroyConvolutionDescriptor(p.Conv);
            }
            _convPlans.Clear();
        }
    }

    private void DisposeLibraryHandles()
    {
        lock (_libraryGate)
        {
            _cudnn?.Dispose();
            _cudnn = null;
            _cublas?.Dispose();
            _cublas = null;
        }
    }
}
