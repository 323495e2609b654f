namespace SpikeEngine;

/// <summary>
/// The fused neuron scan as a differentiable op: the whole time loop of IF/LIF/PLIF in one
/// backend call (<see cref="IBackend.NeuronForward"/>), saving only the pre-spike membrane for
/// backward: H in float32, <c>H − v_th</c> in a 16-bit state dtype (spikes are recomputed as
/// <c>H − v_th ≥ 0</c>, exactly as forward fired them; PLIF recomputes <c>V_{t-1} = reset(H_{t-1})</c>).
/// </summary>
public static class NeuronOps
{
    /// <summary>
    /// Runs the neuron over <paramref name="x"/> (T, M) from <paramref name="v0"/> (M; null: the rest
    /// state) and returns the spikes (T, M) and the membrane after the last step (M). PLIF needs its
    /// weight <paramref name="w"/> (1). H is stored as <paramref name="stateDType"/> (float32,
    /// bfloat16 or float16; the math stays float32). When given, <paramref name="spikeCount"/>
    /// (int32 [1]) receives the number of spikes. Gradients reach x, v0 and w.
    /// </summary>
    public static (Tensor Spikes, Tensor VLast) Scan(
        in NeuronSpec spec,
        Tensor x,
        Tensor? v0 = null,
        Tensor? w = null,
        DType stateDType = DType.Float32,
        Tensor? spikeCount = null
    )
    {
        const string op = "neuron_scan";
        ValidateScan(op, spec, x, v0, w, stateDType, spikeCount);
        var m = x.Shape[1];
        var needGrad = Autograd.IsNeeded(x, v0, w);
        var spikes = Tensor.EmptyLike(x);
        var vLast = Tensor.Empty(new Shape(m), x.Device);
        using var h = needGrad ? Tensor.Empty(x.Shape, x.Device, stateDType) : null;
        x.Backend.NeuronForward(spec, x, v0, w, spikes, h, vLast, spikeCount);
        spikes.IsBinary = true;
        if (needGrad)
            Autograd.Record([spikes, vLast], new ScanNode(spec, h!, x, v0, w));
        return (spikes, vLast);
    }

    /// <summary>Checks the arguments of a scan over x (T, M).</summary>
    internal static void ValidateScan(
        string op,
        in NeuronSpec spec,
        Tensor x,
        Tensor? v0,
        Tensor? w,
        DType stateDType,
        Tensor? spikeCount
    )
    {
        Validate(op, spec);
        Check.Rank(op, "x", x, 2, "[T, M]");
        var m = x.Shape[1];
        if (v0 is not null)
        {
            Check.Float(op, "v0", v0);
            Check.SameDevice(op, "x", x, "v0", v0);
            if (v0.Rank != 1 || v0.Shape[0] != m)
                throw new ArgumentException(
                    $"{op}: 'v0' must have shape [{m}] (one step of x {x.Shape}), got {v0.Shape}",
                    nameof(v0)
                );
        }
        if (spec.Kind == NeuronKind.Plif)
        {
            if (w is null)
                throw new ArgumentException(
                    $"{op}: PLIF needs its weight 'w' ([1]), got null",
                    nameof(w)
                );
            Check.Float(op, "w", w);
            Check.SameDevice(op, "x", x, "w", w);
            if (w.Numel != 1)
                throw new ArgumentException(
                    $"{op}: 'w' must have one element, got {w.Shape}",
                    nameof(w)
                );
        }
        else if (w is not null)
            throw new ArgumentException(
                $"{op}: 'w' is only used by PLIF, got one for {spec.Kind}",
                nameof(w)
            );
        if (stateDType is not (DType.Float32 or DType.BFloat16 or DType.Float16))
            throw new ArgumentException(
                $"{op}: 'stateDType' must be float32, bfloat16 or float16, got {stateDType.Name()}",
                nameof(stateDType)
            );
        if (
            spikeCount is not null
            && (
                spikeCount.DType != DType.Int32
                || spikeCount.Numel != 1
                || spikeCount.Device != x.Device
            )
        )
            throw new ArgumentException(
                $"{op}: 'spikeCount' must be an int32 [1] tensor on {x.Device}, got {spikeCount.Describe()}",
                nameof(spikeCount)
            );
    }

    internal static void Validate(string op, in NeuronSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec.Surrogate, nameof(spec.Surrogate));
        Check.Finite(op, "vThreshold", spec.VThreshold);
        if (spec.VReset is { } vr)
            Check.Finite(op, "vReset", vr);
        if (spec.Kind == NeuronKind.Lif && !(spec.K > 0f && spec.K < 1f))
            throw new ArgumentException(
                $"{op}: LIF needs k = 1/tau in (0, 1), got {spec.K}",
                nameof(spec)
            );
    }

    private sealed class ScanNode : Node
    {
        private readonly NeuronSpec _spec;
        private readonly Tensor _h;
        private readonly Tensor? _v0;
        private readonly Tensor? _w;

        public ScanNode(in NeuronSpec spec, Tensor h, Tensor x, Tensor? v0, Tensor? w)
            : base("neuron_scan", x, v0, w)
        {
            _spec = spec;
            _h = Save(h);
            // PLIF's dL/dx needs k = sigmoid(w) whether or not w learns; V_0 only enters dL/dw.
            if (spec.Kind == NeuronKind.Plif)
            {
                _w = Save(w!);
                if (w!.RequiresGrad && v0 is not null)
                    _v0 = Save(v0);
            }
        }

        /// <summary>Generic: H, float32 (a fused neuron keeps H only; the spikes count where a conv keeps them).</summary>
        protected internal override long GenericBytesIn(StorageLedger ledger) => 4 * _h.Numel;

        public override int OutputCount => 2;

        protected internal override Tensor?[] Backward(Tensor?[] gradOutputs)
        {
            var device = _h.Device;
            var gx = Tensor.Empty(_h.Shape, device);
            var gv0 = Inputs[1] is { RequiresGrad: true }
                ? Tensor.Empty(new Shape(_h.Shape[1]), device)
                : null;
            var gw = Inputs[2] is { RequiresGrad: true }
                ? Tensor.Empty(new Shape(1), device)
                : null;
            gx.Backend.NeuronBackward(
                _spec,
                _h,
                _v0,
                _w,
                gradOutputs[0],
                gradOutputs[1],
                gx,
                gv0,
                gw
            );
            if (!Inputs[0]!.RequiresGrad)
            {
                gx.Dispose();
                gx = null;
            }
            var gwShaped = gw;
            if (gw is not null && _w!.Shape != gw.Shape)
            {
                using (gw)
                    gwShaped = gw.Reshape(_w.Shape.ToArray());
            }
            return [gx, gv0, gwShaped];
        }
    }
}
