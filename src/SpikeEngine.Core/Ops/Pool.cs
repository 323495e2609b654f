namespace SpikeEngine;

public static partial class Ops
{
    private static PoolGeometry PoolGeometryOf(
        string op,
        Tensor x,
        int kernel,
        int stride,
        int padding
    )
    {
        Check.Rank(op, "x", x, 4, "[N, C, H, W]");
        Check.Positive(op, "kernel", kernel);
        Check.Positive(op, "stride", stride);
        Check.NonNegative(op, "padding", padding);
        if (padding * 2 > kernel)
            throw new ArgumentException(
                $"{op}: padding {padding} must be at most half the kernel {kernel}",
                nameof(padding)
            );
        var g = new PoolGeometry(
            x.Shape[0] * x.Shape[1],
            x.Shape[2],
            x.Shape[3],
            kernel,
            kernel,
            stride,
            stride,
            padding,
            padding
        );
        if (g.OutH <= 0 || g.OutW <= 0)
            throw new ArgumentException(
                $"{op}: kernel {kernel} with padding {padding} does not fit input {x.Shape}",
                nameof(kernel)
            );
        return g;
    }

    /// <summary>Max pooling over [N, C, H, W]; backward routes each gradient to its window's maximum.</summary>
    public static Tensor MaxPool2d(Tensor x, int kernel, int stride, int padding = 0)
    {
        var g = PoolGeometryOf("max_pool2d", x, kernel, stride, padding);
        if (kernel * kernel > 256)
            throw new ArgumentException(
                $"max_pool2d: kernel {kernel} has more than 256 positions",
                nameof(kernel)
            );
        var shape = new Shape(x.Shape[0], x.Shape[1], g.OutH, g.OutW);
        var y = Tensor.Empty(shape, x.Device);
        var argmax = Tensor.Empty(shape, x.Device, DType.UInt8);
        x.Backend.MaxPool2dForward(x, y, argmax, g);
        if (Autograd.IsNeeded(x))
            Autograd.Record(y, new MaxPoolNode(x, argmax, g));
        argmax.Dispose();
        return y;
    }

    private sealed class MaxPoolNode : Node
    {
        private readonly PoolGeometry _g;
        private readonly Shape _shape;
        private readonly Tensor _argmax;

        public MaxPoolNode(Tensor x, Tensor argmax, PoolGeometry g)
            : base("max_pool2d", x)
        {
            _g = g;
            _shape = x.Shape;
            _argmax = Save(argmax);
        }

        /// <summary>Generic: the input, float32, and int64 indices (8 B per output element).</summary>
        protected internal override long GenericBytesIn(StorageLedger ledger) =>
            ledger.Float32(Inputs[0]) + 8 * _argmax.Numel;

        protected internal override Tensor?[] Backward(Tensor?[] gradOutputs)
        {
            var gy = gradOutputs[0]!;
            var gx = Tensor.Empty(_shape, gy.Device);
            gy.Backend.MaxPool2dBackward(gy, _argmax, gx, _g);
            return [gx];
        }
    }

    /// <summary>Average pooling over [N, C, H, W] (zero padding counted in the divisor).</summary>
    public static Tensor AvgPool2d(Tensor x, int kernel, int stride, int padding = 0)
    {
        var g = PoolGeometryOf("avg_pool2d", x, kernel, stride, padding);
        var y = Tensor.Empty(new Shape(x.Shape[0], x.Shape[1], g.OutH, g.OutW), x.Device);
        x.Backend.AvgPool2dForward(x, y, g);
        if (Autograd.IsNeeded(x))
            Autograd.Record(y, new AvgPoolNode(x.Shape, g, x));
        return y;
    }

    private sealed class AvgPoolNode(Shape shape, PoolGeometry g, Tensor x) : Node("avg_pool2d", x)
    {
        protected internal override Tensor?[] Backward(Tensor?[] gradOutputs)
        {
            var gy = gradOutputs[0]!;
            var gx = Tensor.Empty(shape, gy.Device);
            gy.Backend.AvgPool2dBackward(gy, gx, g);
            return [gx];
        }
    }

    /// <summary>Adaptive average pooling of [N, C, H, W] to [N, C, outH, outW].</summary>
    public static Tensor AdaptiveAvgPool2d(Tensor x, int outH, int outW)
    {
        const string op = "adaptive_avg_pool2d";
        Check.Rank(op, "x", x, 4, "[N, C, H, W]");
        Check.Positive(op, "outH", outH);
        Check.Positive(op, "outW", outW);
        if (outH > x.Shape[2] || outW > x.Shape[3])
            throw new ArgumentException(
                $"{op}: output {outH}x{outW} is larger than input {x.Shape}",
                nameof(outH)
            );
        int planes = x.Shape[0] * x.Shape[1],
            h = x.Shape[2],
            w = x.Shape[3];
        var y = Tensor.Empty(new Shape(x.Shape[0], x.Shape[1], outH, outW), x.Device);
        x.Backend.AdaptiveAvgPool2dForward(x, y, planes, h, w, outH, outW);
        if (Autograd.IsNeeded(x))
            Autograd.Record(y, new AdaptivePoolNode(x, planes, h, w, outH, outW));
        return y;
    }

    private sealed class AdaptivePoolNode(Tensor x, int planes, int h, int w, int outH, int outW)
        : Node("adaptive_avg_pool2d", x)
    {
        private readonly Shape _shape = x.Shape;

        protected internal override Tensor?[] Backward(Tensor?[] gradOutputs)
        {
            var gy = gradOutputs[0]!;
            var gx = Tensor.Empty(_shape, gy.Device);
            gy.Backend.AdaptiveAvgPool2dBackward(gy, gx, planes, h, w, outH, outW);
            return [gx];
        }
    }
}
