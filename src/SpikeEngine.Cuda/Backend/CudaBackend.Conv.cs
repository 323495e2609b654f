using SpikeEngine.Cuda.Interop;
using SpikeEngine.Cuda.Memory;

namespace SpikeEngine.Cuda;

// Convolutions through cuDNN (NCHW, fp32, cross-correlation). A plan per geometry holds the
// descriptors and, per pass, the algorithm cuDNN's heuristics rank first among those that run
// with the allowed math (FMA only unless AllowTf32) and its workspace size; the workspace is
// taken from the caching allocator for each call and returned right after (stream order keeps
// it valid for the queued kernel).
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
        public int FwdAlgo = -1,
            BwdDataAlgo = -1,
            BwdFilterAlgo = -1;
        public nuint FwdBytes,
            BwdDataBytes,
            BwdFilterBytes;
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
        Cudnn.Check(Cudnn.cudnnSetConvolutionMathType(conv, ConvMath));
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

    // The first heuristic candidate that succeeds with the allowed math type.
    private int Choose(string pass, cudnnConvolutionAlgoPerf_t* perf, int returned)
    {
        for (var i = 0; i < returned; i++)
        {
            if (
                perf[i].status == cudnnStatus_t.CUDNN_STATUS_SUCCESS
                && (AllowTf32 || perf[i].mathType != cudnnMathType_t.CUDNN_TENSOR_OP_MATH)
            )
                return perf[i].algo;
        }
        throw new InvalidOperationException(
            $"Conv2d {pass}: cuDNN offered no usable algorithm ({returned} candidates)"
        );
    }

    private void WithWorkspace(nuint bytes, Action<ulong> body)
    {
        if (bytes == 0)
        {
            body(0);
            return;
        }
        using DeviceBuffer ws = Allocator.Allocate((long)bytes);
        body(ws.Pointer);
    }

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
            if (p.FwdAlgo < 0)
            {
                var perf = stackalloc cudnnConvolutionAlgoPerf_t[8];
                int returned;
                Cudnn.Check(
                    Cudnn.cudnnGetConvolutionForwardAlgorithm_v7(
                        h,
                        p.X,
                        p.W,
                        p.Conv,
                        p.Y,
                        8,
                        &returned,
                        perf
                    )
                );
                var algo = Choose("forward", perf, returned);
                nuint bytes;
                Cudnn.Check(
                    Cudnn.cudnnGetConvolutionForwardWorkspaceSize(
                        h,
                        p.X,
                        p.W,
                        p.Conv,
                        p.Y,
                        algo,
                        &bytes
                    )
                );
                (p.FwdAlgo, p.FwdBytes) = (algo, bytes);
            }
            WithWorkspace(
                p.FwdBytes,
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
                            p.FwdAlgo,
                            ws,
                            p.FwdBytes,
                            &beta,
                            p.Y,
                            yp
                        ),
                        $"cudnnConvolutionForward({geo}, algo {p.FwdAlgo})"
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
            if (p.BwdDataAlgo < 0)
            {
                var perf = stackalloc cudnnConvolutionAlgoPerf_t[8];
                int returned;
                Cudnn.Check(
                    Cudnn.cudnnGetConvolutionBackwardDataAlgorithm_v7(
                        h,
                        p.W,
                        p.Y,
                        p.Conv,
                        p.X,
                        8,
                        &returned,
                        perf
                    )
                );
                var algo = Choose("backward data", perf, returned);
                nuint bytes;
                Cudnn.Check(
                    Cudnn.cudnnGetConvolutionBackwardDataWorkspaceSize(
                        h,
                        p.W,
                        p.Y,
                        p.Conv,
                        p.X,
                        algo,
                        &bytes
                    )
                );
                (p.BwdDataAlgo, p.BwdDataBytes) = (algo, bytes);
            }
            WithWorkspace(
                p.BwdDataBytes,
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
                            p.BwdDataAlgo,
                            ws,
                            p.BwdDataBytes,
                            &beta,
                            p.X,
                            gxp
                        ),
                        $"cudnnConvolutionBackwardData({geo}, algo {p.BwdDataAlgo})"
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
            if (p.BwdFilterAlgo < 0)
            {
                var perf = stackalloc cudnnConvolutionAlgoPerf_t[8];
                int returned;
                Cudnn.Check(
                    Cudnn.cudnnGetConvolutionBackwardFilterAlgorithm_v7(
                        h,
                        p.X,
                        p.Y,
                        p.Conv,
                        p.W,
                        8,
                        &returned,
                        perf
                    )
                );
                var algo = Choose("backward filter", perf, returned);
                nuint bytes;
                Cudnn.Check(
                    Cudnn.cudnnGetConvolutionBackwardFilterWorkspaceSize(
                        h,
                        p.X,
                        p.Y,
                        p.Conv,
                        p.W,
                        algo,
                        &bytes
                    )
                );
                (p.BwdFilterAlgo, p.BwdFilterBytes) = (algo, bytes);
            }
            WithWorkspace(
                p.BwdFilterBytes,
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
                            p.BwdFilterAlgo,
                            ws,
                            p.BwdFilterBytes,
                            &beta,
                            p.W,
                            gwp
                        ),
                        $"cudnnConvolutionBackwardFilter({geo}, algo {p.BwdFilterAlgo})"
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
