namespace SpikeEngine;

/// <summary>
/// Batch norm followed by a fused neuron scan as one differentiable op that saves only the
/// neuron's membrane H (in the neuron's state dtype) and BN's per-channel statistics: neither the
/// BN input (the conv output) nor the BN output is kept. Backward rebuilds the BN output
/// <c>X_t</c> from <c>H_t</c> and <c>V_{t-1} = reset(H_{t-1})</c> by inverting the charge equation,
/// then BN's input from <c>X</c> by inverting the affine map, <c>x = (X - β)/(γ·invStd) + μ</c>
/// (the idea of in-place activated BN, Rota Bulò et al., CVPR 2018), and runs the ordinary BN
/// backward on it. The inversion divides by γ: when some channel has <c>|γ| &lt; </c>
/// <see cref="GammaMin"/> the op runs BN and the neuron as two ops instead (the standard layout),
/// so the forward pass is always exactly standard BN (in-place ABN instead clamps γ in the forward).
/// </summary>
public static class BnNeuronOps
{
    /// <summary>Smallest |γ| for which the BN input is reconstructed rather than saved.</summary>
    public const float GammaMin = 1e-3f;

    /// <summary>
    /// Runs BN (training mode: batch statistics, running stats updated) over <paramref name="x"/>
    /// (T, M) viewed as [T·M/(C·inner), C, inner], then the neuron over the result, and returns the
    /// spikes (T, M) and the membrane after the last step (M). Arguments as in
    /// <see cref="Ops.BatchNorm"/> and <see cref="NeuronOps.Scan"/>. Gradients reach x, γ, β, v0 and w.
    /// With <paramref name="overwriteInput"/> the caller gives x up (no handle reads its values
    /// afterwards): BN's output is written over it, one input-sized buffer less.
    /// </summary>
    public static (Tensor Spikes, Tensor VLast) Scan(
        in NeuronSpec spec,
        Tensor x,
        int channels,
        int inner,
        Tensor gamma,
        Tensor beta,
        Tensor runningMean,
        Tensor runningVar,
        float momentum = 0.1f,
        float eps = 1e-5f,
        Tensor? v0 = null,
        Tensor? w = null,
        DType stateDType = DType.Float32,
        Tensor? spikeCount = null,
        bool overwriteInput = false,
        BatchStatistics? statistics = null
    )
    {
        const string op = "bn_neuron_scan";
        NeuronOps.Validate(op, spec);
        Check.Rank(op, "x", x, 2, "[T, M]");
        Check.Float(op, "x", x);
        if (channels <= 0 || inner <= 0 || x.Shape[1] % ((long)channels * inner) != 0)
            throw new ArgumentException(
                $"{op}: one step of x {x.Shape} must hold whole [C={channels}, inner={inner}] planes",
                nameof(channels)
            );
        var t = x.Shape[0];
        var m = x.Shape[1];
        var n = checked(t * (m / (channels * inner)));
        using var x3 = x.Reshape(n, channels, inner);
        if (!Autograd.IsNeeded(x, gamma, beta, v0, w) || MinAbs(gamma) < GammaMin)
        {
            // Standard layout: BN saves its input, the neuron its H.
            using var y3 = Ops.BatchNorm(
                x3,
                gamma,
                beta,
                runningMean,
                runningVar,
                training: true,
                momentum,
                eps,
                statistics
            );
            using var y2 = y3.Reshape(t, m);
            return NeuronOps.Scan(spec, y2, v0, w, stateDType, spikeCount);
        }
        // Validates every argument (shapes, dtypes, devices) exactly as the standard path does.
        NeuronOps.ValidateScan(op, spec, x, v0, w, stateDType, spikeCount);
        Check.BatchNormParameters(
            op,
            x,
            channels,
            "",
            gamma,
            beta,
            runningMean,
            runningVar,
            momentum,
            eps
        );

        var be = x.Backend;
        Tensor mean,
            invStd;
        var spikes = Tensor.EmptyLike(x);
        var vLast = Tensor.Empty(new Shape(m), x.Device);
        // BN's output is written over its input when the caller gives the input up (both backends
        // allow it, bit for bit): backward rebuilds BN's input and never reads x.
        using (var y = overwriteInput ? x.Alias() : Tensor.EmptyLike(x))
        {
            (mean, invStd) = Ops.BatchNormStep(
                op,
                x,
                gamma,
                beta,
                y,
                runningMean,
                runningVar,
                n,
                channels,
                inner,
                momentum,
                eps,
                statistics
            );
            using var h = Tensor.Empty(x.Shape, x.Device, stateDType);
            be.NeuronForward(spec, y, v0, w, spikes, h, vLast, spikeCount);
            spikes.IsBinary = true;
            Autograd.Record(
                [spikes, vLast],
                new BnScanNode(spec, h, x, gamma, beta, mean, invStd, v0, w, n, channels, inner)
            );
        }
        mean.Dispose();
        invStd.Dispose();
        return (spikes, vLast);
    }

    private static float MinAbs(Tensor gamma)
    {
        var min = float.PositiveInfinity;
        foreach (var g in gamma.ToArray())
            min = Math.Min(min, Math.Abs(g));
        return min;
    }

    /// <summary>A view of rows [start, start + count) of a (T, M) tensor.</summary>
    private static Tensor Rows(Tensor t, int start, int count)
    {
        t.Storage.Retain();
        return new Tensor(
            t.Storage,
            new Shape(count, t.Shape[1]),
            t.Offset + (long)start * t.Shape[1]
        );
    }

    /// <summary>
    /// X (T, M) from the saved state (T, M): H in float32, D = H − v_th in bfloat16 or float16 (see
    /// <see cref="IBackend.NeuronForward"/>). <c>V_{t-1} = reset(H_{t-1})</c> with the spike taken
    /// from the sign of D (V_0 = v0 or the rest state), then the charge equation solved for X.
    /// </summary>
    internal static Tensor ReconstructInput(in NeuronSpec spec, Tensor h, Tensor? v0, Tensor? w)
    {
        var be = h.Backend;
        int t = h.Shape[0],
            m = h.Shape[1];
        using var hf = h.DType == DType.Float32 ? h.Alias() : h.ToDType(DType.Float32);
        using var d = Tensor.Empty(h.Shape, h.Device);
        if (h.DType == DType.Float32)
            be.Scalar(ScalarOp.Add, hf, -spec.VThreshold, d);
        else
        {
            be.Convert(hf, d);
            be.Scalar(ScalarOp.Add, d, spec.VThreshold, hf);
        }
        using var vPrev = Tensor.Empty(h.Shape, h.Device);
        using (var row0 = Rows(vPrev, 0, 1))
        {
            if (v0 is null)
                be.Fill(row0, spec.Rest);
            else
            {
                using var v0Row = v0.Reshape(1, m);
                be.Convert(v0Row, row0);
            }
        }
        if (t > 1)
        {
            using var hPrev = Rows(hf, 0, t - 1);
            using var dPrev = Rows(d, 0, t - 1);
            using var vRows = Rows(vPrev, 1, t - 1);
            using var s = Tensor.Empty(hPrev.Shape, h.Device);
            be.Unary(UnaryOp.Heaviside, dPrev, s);
            if (spec.VReset is { } vr)
            {
                // V = H + S (v_reset - H)
                be.Scalar(ScalarOp.RSub, hPrev, vr, vRows);
                be.Binary(BinaryOp.Mul, s, vRows, vRows);
            }
            else
                be.Scalar(ScalarOp.Mul, s, -spec.VThreshold, vRows); // V = H - v_th S
            be.Binary(BinaryOp.Add, hPrev, vRows, vRows);
        }
        var k = spec.K;
        if (spec.Kind == NeuronKind.Plif)
        {
            using var kT = Tensor.Empty(new Shape(1), h.Device);
            be.Unary(UnaryOp.Sigmoid, w!, kT);
            k = kT.ToArray()[0];
        }
        var x = Tensor.Empty(h.Shape, h.Device);
        be.Binary(BinaryOp.Sub, hf, vPrev, x); // H - V
        if (spec.Kind == NeuronKind.If)
            return x; // H = V + X
        if (spec.DecayInput)
        {
            // H = V + (X - (V - Vr*)) k  →  X = (H - V)/k + V - Vr*
            be.Scalar(ScalarOp.Mul, x, 1f / k, x);
            be.Binary(BinaryOp.Add, x, vPrev, x);
            be.Scalar(ScalarOp.Add, x, -spec.Rest, x);
        }
        else
        {
            // H = V - (V - Vr*) k + X  →  X = H - V + (V - Vr*) k
            using var leak = Tensor.Empty(h.Shape, h.Device);
            be.Scalar(ScalarOp.Add, vPrev, -spec.Rest, leak);
            be.Axpy(k, leak, x);
        }
        return x;
    }

    private sealed class BnScanNode : Node
    {
        private readonly NeuronSpec _spec;
        private readonly Tensor _h; // (T, M) in the state dtype
        private readonly Tensor _gamma,
            _beta,
            _mean,
            _invStd; // (C)
        private readonly Tensor? _v0; // (M)
        private readonly Tensor? _w; // (1)
        private readonly int _n,
            _c,
            _inner;

        public BnScanNode(
            in NeuronSpec spec,
            Tensor h,
            Tensor x,
            Tensor gamma,
            Tensor beta,
            Tensor mean,
            Tensor invStd,
            Tensor? v0,
            Tensor? w,
            int n,
            int c,
            int inner
        )
            : base("bn_neuron_scan", x, gamma, beta, v0, w)
        {
            _spec = spec;
            _h = Save(h);
            _gamma = Save(gamma);
            _beta = Save(beta);
            _mean = Save(mean);
            _invStd = Save(invStd);
            if (v0 is not null)
                _v0 = Save(v0);
            if (w is not null)
                _w = Save(w);
            (_n, _c, _inner) = (n, c, inner);
        }

        /// <summary>Generic: BN's input (the conv output) and H, float32; nothing keeps BN's output.</summary>
        protected internal override long GenericBytesIn(StorageLedger ledger) =>
            ledger.Float32(Inputs[0]) + 4 * _h.Numel;

        public override int OutputCount => 2;

        protected internal override Tensor?[] Backward(Tensor?[] gradOutputs)
        {
            var device = _h.Device;
            var be = _h.Backend;
            var m = _h.Shape[1];
            var gv0 = Inputs[3] is { RequiresGrad: true }
                ? Tensor.Empty(new Shape(m), device)
                : null;
            var gw = Inputs[4] is { RequiresGrad: true }
                ? Tensor.Empty(new Shape(1), device)
                : null;
            // BN's output gradient; BN's input gradient is then written over it.
            var gx = Tensor.Empty(_h.Shape, device);
            be.NeuronBackward(_spec, _h, _v0, _w, gradOutputs[0], gradOutputs[1], gx, gv0, gw);

            // BN input from its output: x = X·scale + shift, scale = 1/(γ invStd), shift = μ - β·scale,
            // written over the spikes' gradient (read by no one any more) when nothing shares it.
            using var xr =
                gradOutputs[0] is { } gs && gs.Shape == _h.Shape
                    ? Overwritable(gs)
                    : Tensor.Empty(_h.Shape, device);
            using (var scale = Tensor.Empty(new Shape(_c), device))
            using (var shift = Tensor.Empty(new Shape(_c), device))
            {
                be.Binary(BinaryOp.Mul, _gamma, _invStd, scale);
                be.Scalar(ScalarOp.Pow, scale, -1f, scale);
                be.Binary(BinaryOp.Mul, _beta, scale, shift);
                be.Binary(BinaryOp.Sub, _mean, shift, shift);
                be.NeuronInputAffine(_spec, _h, _v0, _w, scale, shift, _c, _inner, xr);
            }
            var gg = Tensor.Empty(new Shape(_c), device);
            var gb = Tensor.Empty(new Shape(_c), device);
            be.BatchNormBackward(xr, gx, _gamma, _mean, _invStd, gx, gg, gb, _n, _c, _inner);
            var gwShaped = gw;
            if (gw is not null && Inputs[4]!.Shape != gw.Shape)
            {
                using (gw)
                    gwShaped = gw.Reshape(Inputs[4]!.Shape.ToArray());
            }
            return
            [
                Keep(gx, Inputs[0]!.RequiresGrad),
                Keep(gg, Inputs[1]!.RequiresGrad),
                Keep(gb, Inputs[2]!.RequiresGrad),
                gv0,
                gwShaped,
            ];
        }

        private static Tensor? Keep(Tensor t, bool keep)
        {
            if (keep)
                return t;
            t.Dispose();
            return null;
        }
    }
}
