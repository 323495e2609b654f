namespace SpikeEngine;

public static partial class Ops
{
    /// <summary>
    /// Convolution (no bias) followed by training-mode batch norm as one differentiable op that saves
    /// only the convolution's input (bit-packed when it is marked <see cref="Tensor.IsBinary"/> and
    /// <paramref name="packBinaryInput"/> is set) and BN's per-channel statistics: backward recomputes
    /// the convolution's output instead of keeping it for BN (one extra convolution forward per step).
    /// x [N, C, H, W], weight [K, C, KH, KW], BN over the K channels of the output; arguments as in
    /// <see cref="Conv2d(Tensor, Tensor, Tensor?, int, int, int, bool)"/> and <see cref="BatchNorm"/>.
    /// </summary>
    public static Tensor Conv2dBatchNorm(
        Tensor x,
        Tensor weight,
        int stride,
        int padding,
        int dilation,
        Tensor gamma,
        Tensor beta,
        Tensor runningMean,
        Tensor runningVar,
        float momentum = 0.1f,
        float eps = 1e-5f,
        bool packBinaryInput = false,
        BatchStatistics? statistics = null
    )
    {
        const string op = "conv_bn";
        var g = ConvGeometryOf(
            x,
            weight,
            (stride, stride),
            (padding, padding),
            (dilation, dilation)
        );
        Check.BatchNormParameters(
            op,
            x,
            g.K,
            $" (output channels of weight {weight.Shape})",
            gamma,
            beta,
            runningMean,
            runningVar,
            momentum,
            eps
        );
        var inner = g.OutH * g.OutW;
        if ((long)g.N * inner < 2)
            throw new ArgumentException(
                $"{op}: training needs more than one value per channel, got output [{g.N}, {g.K}, {g.OutH}, {g.OutW}]",
                nameof(x)
            );
        var be = x.Backend;
        var outShape = new Shape(g.N, g.K, g.OutH, g.OutW);
        var z = Tensor.Empty(outShape, x.Device);
        // BN normalises the conv output in place: one output-sized buffer, not two.
        be.Conv2dForward(x, weight, z, g);
        var (mean, invStd) = BatchNormStep(
            op,
            z,
            gamma,
            beta,
            z,
            runningMean,
            runningVar,
            g.N,
            g.K,
            inner,
            momentum,
            eps,
            statistics
        );
        if (Autograd.IsNeeded(x, weight, gamma, beta))
            Autograd.Record(
                z,
                new ConvBnNode(
                    x,
                    weight,
                    gamma,
                    beta,
                    mean,
                    invStd,
                    g,
                    packBinaryInput && x.IsBinary
                )
            );
        mean.Dispose();
        invStd.Dispose();
        return z;
    }

    private sealed class ConvBnNode : Node
    {
        private readonly ConvGeometry _g;
        private readonly Tensor _x; // (N, C, H, W) float32, or bit-packed
        private readonly Tensor _w; // (K, C, KH, KW)
        private readonly Tensor _gamma,
            _mean,
            _invStd; // (K)

        public ConvBnNode(
            Tensor x,
            Tensor w,
            Tensor gamma,
            Tensor beta,
            Tensor mean,
            Tensor invStd,
            ConvGeometry g,
            bool pack
        )
            : base("conv_bn", x, w, gamma, beta)
        {
            _g = g;
            if (pack)
            {
                using var bits = x.ToDType(DType.Bit);
                _x = Save(bits);
            }
            else
                _x = Save(x);
            _w = Save(w);
            _gamma = Save(gamma);
            _mean = Save(mean);
            _invStd = Save(invStd);
        }

        /// <summary>Generic: the conv input and BN's input (the conv output, which the engine recomputes), float32.</summary>
        protected internal override long GenericBytesIn(StorageLedger ledger) =>
            ledger.Float32(Inputs[0]) + 4L * _g.N * _g.K * _g.OutH * _g.OutW;

        protected internal override Tensor?[] Backward(Tensor?[] gradOutputs)
        {
            var gz = gradOutputs[0]!;
            var be = gz.Backend;
            var device = gz.Device;
            using var x = _x.DType == DType.Bit ? _x.ToDType(DType.Float32) : _x.Alias();
            Tensor gy;
            Tensor gg = Tensor.Empty(new Shape(_g.K), device),
                gb = Tensor.Empty(new Shape(_g.K), device);
            using (var y = Tensor.Empty(gz.Shape, device))
            {
                be.Conv2dForward(x, _w, y, _g); // recomputed, same kernel as the forward
                gy = Overwritable(gz); // BN's input gradient over its output's where that is dead
                be.BatchNormBackward(
                    y,
                    gz,
                    _gamma,
                    _mean,
                    _invStd,
                    gy,
                    gg,
                    gb,
                    _g.N,
                    _g.K,
                    _g.OutH * _g.OutW
                );
            }
            Tensor? gx = null,
                gw = null;
            using (gy)
            {
                if (Inputs[0]!.RequiresGrad)
                {
                    gx = Tensor.Empty(new Shape(_g.N, _g.C, _g.H, _g.W), device);
                    be.Conv2dBackwardData(gy, _w, gx, _g);
                }
                if (Inputs[1]!.RequiresGrad)
                {
                    gw = Tensor.Empty(_w.Shape, device);
                    be.Conv2dBackwardFilter(x, gy, gw, _g);
                }
            }
            return
            [
                gx,
                gw,
                Inputs[2]!.RequiresGrad ? gg : Drop(gg),
                Inputs[3]!.RequiresGrad ? gb : Drop(gb),
            ];

            static Tensor? Drop(Tensor t)
            {
                t.Dispose();
                return null;
            }
        }
    }
}
