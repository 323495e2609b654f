using SpikeEngine.Cuda.Kernels;

namespace SpikeEngine.Cuda;

// Elementwise ops and reductions: kernels/elementwise.cu and kernels/reduce.cu. Shapes were
// checked by Core; here only what the kernels add: every tensor on this device, float32.
public sealed unsafe partial class CudaBackend
{
    public void Fill(Tensor y, float value)
    {
        if (y.DType == DType.Int32)
            Launch(
                KernelNames.EwFillI32,
                y.Numel,
                Ptr("Fill", "y", y, DType.Int32),
                value,
                y.Numel
            );
        else
            Launch(KernelNames.EwFillF32, y.Numel, Ptr("Fill", "y", y), value, y.Numel);
    }

    public void Unary(UnaryOp op, Tensor x, Tensor y) =>
        Launch(
            KernelNames.EwUnaryFwdF32,
            y.Numel,
            Ptr($"Unary({op})", "x", x),
            Ptr($"Unary({op})", "y", y),
            (int)op,
            y.Numel
        );

    public void UnaryBackward(UnaryOp op, Tensor x, Tensor y, Tensor gy, Tensor gx)
    {
        var name = $"UnaryBackward({op})";
        Launch(
            KernelNames.EwUnaryBwdF32,
            gx.Numel,
            Ptr(name, "x", x),
            Ptr(name, "y", y),
            Ptr(name, "gy", gy),
            Ptr(name, "gx", gx),
            (int)op,
            gx.Numel
        );
    }

    public void Binary(BinaryOp op, Tensor a, Tensor b, Tensor y)
    {
        var name = $"Binary({op})";
        Launch(
            KernelNames.EwBinaryFwdF32,
            y.Numel,
            Ptr(name, "a", a),
            Ptr(name, "b", b),
            Ptr(name, "y", y),
            (int)op,
            y.Numel
        );
    }

    public void Scalar(ScalarOp op, Tensor x, float s, Tensor y)
    {
        var name = $"Scalar({op})";
        Launch(
            KernelNames.EwScalarFwdF32,
            y.Numel,
            Ptr(name, "x", x),
            Ptr(name, "y", y),
            s,
            (int)op,
            y.Numel
        );
    }

    public void Axpy(float alpha, Tensor x, Tensor y) =>
        Launch(
            KernelNames.EwAxpyFwdF32,
            y.Numel,
            Ptr("Axpy", "x", x),
            Ptr("Axpy", "y", y),
            alpha,
            y.Numel
        );

    public void AddN(ReadOnlySpan<Tensor> xs, Tensor y)
    {
        const string op = "AddN";
        var yp = Ptr(op, "y", y);
        if (xs.Length == 0)
        {
            Fill(y, 0f);
            return;
        }
        if (xs.Length == 1)
        {
            Convert(xs[0], y);
            return;
        }
        var pointers = new ulong[xs.Length];
        for (var i = 0; i < xs.Length; i++)
            pointers[i] = Ptr(op, $"xs[{i}]", xs[i]).Bits;
        MakeCurrent();
        using var table = Allocator.Allocate(pointers.Length * 8L);
        table.CopyFrom<ulong>(pointers);
        Launch(KernelNames.EwAddnFwdF32, y.Numel, table, xs.Length, yp, y.Numel);
    }

    public void ChannelAffine(
        Tensor x,
        Tensor? scale,
        Tensor? shift,
        int outer,
        int channels,
        int inner,
        Tensor y
    )
    {
        const string op = "ChannelAffine";
        var n = (long)outer * channels * inner;
        Launch(
            KernelNames.EwChannelAffineFwdF32,
            n,
            Ptr(op, "x", x),
            Opt(op, "scale", scale),
            Opt(op, "shift", shift),
            Ptr(op, "y", y),
            channels,
            inner,
            n
        );
    }
}
