using SpikeEngine.Cuda.Kernels;

namespace SpikeEngine.Cuda;

// Pooling: kernels/pool.cu (forward: one thread per output; backward: one thread per input, gathering).
public sealed partial class CudaBackend
{
    public void MaxPool2dForward(Tensor x, Tensor y, Tensor argmax, in PoolGeometry g)
    {
        const string op = "MaxPool2dForward";
        if (g.KH * g.KW > 256)
            throw new ArgumentException($"{op}: a {g.KH}x{g.KW} window does not fit uint8 argmax");
        var n = (long)g.Planes * g.OutH * g.OutW;
        LaunchWindow(
            KernelNames.PoolMaxFwdF32,
            n,
            g,
            Ptr(op, "x", x),
            Ptr(op, "y", y),
            Ptr(op, "argmax", argmax, DType.UInt8)
        );
    }

    public void MaxPool2dBackward(Tensor gy, Tensor argmax, Tensor gx, in PoolGeometry g)
    {
        const string op = "MaxPool2dBackward";
        var n = (long)g.Planes * g.H * g.W;
        LaunchWindow(
            KernelNames.PoolMaxBwdF32,
            n,
            g,
            Ptr(op, "gy", gy),
            Ptr(op, "argmax", argmax, DType.UInt8),
            Ptr(op, "gx", gx)
        );
    }

    public void AvgPool2dForward(Tensor x, Tensor y, in PoolGeometry g)
    {
        const string op = "AvgPool2dForward";
        var n = (long)g.Planes * g.OutH * g.OutW;
        LaunchWindow(KernelNames.PoolAvgFwdF32, n, g, Ptr(op, "x", x), Ptr(op, "y", y));
    }

    public void AvgPool2dBackward(Tensor gy, Tensor gx, in PoolGeometry g)
    {
        const string op = "AvgPool2dBackward";
        var n = (long)g.Planes * g.H * g.W;
        LaunchWindow(KernelNames.PoolAvgBwdF32, n, g, Ptr(op, "gy", gy), Ptr(op, "gx", gx));
    }

    public void AdaptiveAvgPool2dForward(
        Tensor x,
        Tensor y,
        int planes,
        int h,
        int w,
        int outH,
        int outW
    )
    {
        const string op = "AdaptiveAvgPool2dForward";
        var n = (long)planes * outH * outW;
        Launch(
            KernelNames.PoolAdaptiveAvgFwdF32,
            n,
            Ptr(op, "x", x),
            Ptr(op, "y", y),
            h,
            w,
            outH,
            outW,
            n
        );
    }

    public void AdaptiveAvgPool2dBackward(
        Tensor gy,
        Tensor gx,
        int planes,
        int h,
        int w,
        int outH,
        int outW
    )
    {
        const string op = "AdaptiveAvgPool2dBackward";
        var n = (long)planes * h * w;
        Launch(
            KernelNames.PoolAdaptiveAvgBwdF32,
            n,
            Ptr(op, "gy", gy),
            Ptr(op, "gx", gx),
            h,
            w,
            outH,
            outW,
            n
        );
    }

    // The windowed pooling kernels take their tensors, then the geometry in one fixed order
    // (h, w, out_h, out_w, kh, kw, stride_h, stride_w, pad_h, pad_w) and the thread count n.
    private void LaunchWindow(
        string kernel,
        long n,
        in PoolGeometry g,
        params ReadOnlySpan<KernelArg> tensors
    )
    {
        Span<KernelArg> args = stackalloc KernelArg[tensors.Length + 11];
        tensors.CopyTo(args);
        ReadOnlySpan<int> geometry =
        [
            g.H,
            g.W,
            g.OutH,
            g.OutW,
            g.KH,
            g.KW,
            g.StrideH,
            g.StrideW,
            g.PadH,
            g.PadW,
        ];
        for (var i = 0; i < geometry.Length; i++)
            args[tensors.Length + i] = geometry[i];
        args[^1] = n;
        Launch(kernel, n, args);
    }
}
