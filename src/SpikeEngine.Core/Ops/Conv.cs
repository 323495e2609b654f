namespace SpikeEngine;

public static partial class Ops
{
    /// <summary>
    /// 2-D convolution (cross-correlation), groups = 1: x [N, C, H, W], weight [K, C, KH, KW],
    /// bias [K] (optional) → [N, K, OH, OW]. With <paramref name="packBinaryInput"/> an input
    /// marked <see cref="Tensor.IsBinary"/> (spikes) is saved for backward at 1 bit per element
    /// and unpacked transiently for the weight gradient (exact: the gradients are identical).
    /// </summary>
    public static Tensor Conv2d(
        Tensor x,
        Tensor weight,
        Tensor? bias = null,
        int stride = 1,
        int padding = 0,
        int dilation = 1,
        bool packBinaryInput = false
    ) =>
        Conv2d(
            x,
            weight,
            bias,
            (stride, stride),
            (padding, padding),
            (dilation, dilation),
            packBinaryInput
        );

    /// <summary>2-D convolution with separate vertical and horizontal stride, padding and dilation.</summary>
    public static Tensor Conv2d(
        Tensor x,
        Tensor weight,
        Tensor? bias,
        (int H, int W) stride,
        (int H, int W) padding,
        (int H, int W) dilation,
        bool packBinaryInput = false
    )
    {
        var g = ConvGeometryOf(x, weight, stride, padding, dilation);
        var y = Tensor.Empty(new Shape(g.N, g.K, g.OutH, g.OutW), x.Device);
        x.Backend.Conv2dForward(x, weight, y, g);
        if (Autograd.IsNeeded(x, weight))
            Autograd.Record(y, new Conv2dNode(x, weight, g, packBinaryInput && x.IsBinary));
        if (bias is null)
            return y;
        if (bias.Rank != 1 || bias.Shape[0] != g.K)
            throw new ArgumentException(
                $"conv2d: bias must have shape [{g.K}], got {bias.Shape}",
                nameof(bias)
            );
        using (y)
            return ChannelAffine(y, null, bias, axis: 1);
    }

    /// <summary>Validates a convolution's arguments and returns its geometry.</summary>
    public static ConvGeometry ConvGeometryOf(
        Tensor x,
        Tensor weight,
        (int H, int W) stride,
        (int H, int W) padding,
        (int H, int W) dilation
    )
    {
        const string op = "conv2d";
        Check.Rank(op, "x", x, 4, "[N, C, H, W]");
        Check.Rank(op, "weight", weight, 4, "[K, C, KH, KW]");
        Check.SameDevice(op, "x", x, "weight", weight);
        Check.Positive(op, "stride.H", stride.H);
        Check.Positive(op, "stride.W", stride.W);
        Check.NonNegative(op, "padding.H", padding.H);
        Check.NonNegative(op, "padding.W", padding.W);
        Check.Positive(op, "dilation.H", dilation.H);
        Check.Positive(op, "dilation.W", dilation.W);
        if (x.Shape[1] != weight.Shape[1])
            throw new ArgumentException(
                $"{op}: x has {x.Shape[1]} channels ({x.Shape}) but weight expects {weight.Shape[1]} ({weight.Shape})",
                nameof(weight)
            );
        var g = new ConvGeometry(
            x.Shape[0],
            x.Shape[1],
            x.Shape[2],
            x.Shape[3],
            weight.Shape[0],
            weight.Shape[2],
            weight.Shape[3],
            stride.H,
            stride.W,
            padding.H,
            padding.W,
            dilation.H,
            dilation.W
        );
        if (g.OutH <= 0 || g.OutW <= 0)
            throw new ArgumentException(
                $"{op}: kernel {weight.Shape[2]}x{weight.Shape[3]} (dilation {dilation}, padding {padding}) does not fit input {x.Shape[2]}x{x.Shape[3]}",
                nameof(x)
            );
        return g;
    }

    private sealed class Conv2dNode : Node
    {
        private readonly ConvGeometry _g;
        private readonly Tensor? _x; // (N, C, H, W) float32, or bit-packed when the input is binary
        private readonly Tensor? _w;

        public Conv2dNode(Tensor x, Tensor w, ConvGeometry g, bool pack)
            : base("conv2d", x, w)
        {
            _g = g;
            if (x.RequiresGrad)
                _w = Save(w);
            if (!w.RequiresGrad)
                return;
            if (pack)
            {
                using var bits = x.ToDType(DType.Bit);
                _x = Save(bits);
            }
            else
                _x = Save(x);
        }

        /// <summary>Generic: the input, float32 (PyTorch keeps it for the weight gradient).</summary>
        protected internal override long GenericBytesIn(StorageLedger ledger) =>
            ledger.Float32(Inputs[0]);

        protected internal override Tensor?[] Backward(Tensor?[] gradOutputs)
        {
            var gy = gradOutputs[0]!;
            var be = gy.Backend;
            Tensor? gx = null,
                gw = null;
            // The weight gradient first: a bit-packed input is unpacked for it and freed before
            // the input gradient is allocated, so the two are never live at once.
            if (_x is not null)
            {
                gw = Tensor.Empty(new Shape(_g.K, _g.C, _g.KH, _g.KW), gy.Device);
                if (_x.DType == DType.Bit)
                {
                    using var x = _x.ToDType(DType.Float32);
                    be.Conv2dBackwardFilter(x, gy, gw, _g);
                }
                else
                    be.Conv2dBackwardFilter(_x, gy, gw, _g);
            }
            if (_w is not null)
            {
                gx = Tensor.Empty(new Shape(_g.N, _g.C, _g.H, _g.W), gy.Device);
                be.Conv2dBackwardData(gy, _w, gx, _g);
            }
            return [gx, gw];
        }
    }
}
