namespace SpikeEngine.Nn;

/// <summary>
/// Shared machinery of <see cref="IfNode"/>, <see cref="LifNode"/> and <see cref="PlifNode"/>:
/// the fused scan (<see cref="NeuronOps.Scan"/>), the membrane state <see cref="V"/>, the storage
/// type of the saved membrane, and firing statistics of the last forward pass.
/// </summary>
public abstract class FusedNeuronNode : NeuronNode
{
    private readonly string _op;
    private Tensor? _v; // (one step of the input: N, ...)
    private bool _ownsV;
    private bool _stateDropped; // the last call was a multi-step training call that kept no state
    private Tensor? _spikeCount; // int32 [1], written by the last forward
    private long _foldedCount;
    private DType _stateDType = DType.Float32;

    private protected FusedNeuronNode(
        string op,
        float vThreshold,
        float? vReset,
        bool detachReset,
        Surrogate? surrogate
    )
    {
        _op = op;
        if (!float.IsFinite(vThreshold))
            throw new ArgumentException(
                $"{op}: 'vThreshold' must be finite, got {vThreshold}",
                nameof(vThreshold)
            );
        if (vReset is { } vr && !float.IsFinite(vr))
            throw new ArgumentException(
                $"{op}: 'vReset' must be finite or null (soft reset), got {vr}",
                nameof(vReset)
            );
        VThreshold = vThreshold;
        VReset = vReset;
        DetachReset = detachReset;
        Surrogate = surrogate ?? Surrogate.Sigmoid(4f);
    }

    /// <summary>Firing threshold v_th.</summary>
    public float VThreshold { get; }

    /// <summary>Hard-reset potential; null means soft reset (subtract v_th).</summary>
    public float? VReset { get; }

    /// <summary>The spike in the reset term is a constant for backward.</summary>
    public bool DetachReset { get; }

    /// <summary>The surrogate gradient of the spike.</summary>
    public Surrogate Surrogate { get; }

    /// <summary>
    /// Storage type of the membrane H saved for backward: float32 (default), bfloat16 or float16
    /// (2 bytes per neuron-step; the arithmetic stays float32).
    /// </summary>
    public DType StateDType
    {
        get => _stateDType;
        set
        {
            if (value is not (DType.Float32 or DType.BFloat16 or DType.Float16))
                throw new ArgumentException(
                    $"{_op}: 'StateDType' must be float32, bfloat16 or float16, got {value.Name()}",
                    nameof(value)
                );
            _stateDType = value;
        }
    }

    /// <summary>The scan parameters of this neuron.</summary>
    public abstract NeuronSpec Spec { get; }

    /// <summary>PLIF's learnable weight; null for IF and LIF.</summary>
    private protected virtual Tensor? ScanWeight => null;

    /// <summary>
    /// Membrane potential after the last step (shape of one input step). Setting it before
    /// <see cref="Forward"/> sets <c>V_0</c>; gradients flow into a tensor set here (its
    /// <see cref="Tensor.Grad"/>). Null is the rest state (v_reset, or 0 for soft reset).
    /// </summary>
    public override Tensor? V
    {
        get => _v;
        set
        {
            if (value is not null)
                Check.Float(_op, "V", value);
            ReplaceV(value, owned: false);
        }
    }

    /// <summary>Spikes emitted by the last forward pass (0 before the first).</summary>
    public long LastSpikeCount =>
        _spikeCount is null ? _foldedCount : _spikeCount.ToInt32Array()[0];

    /// <summary>Neuron-steps (T · neurons) of the last forward pass.</summary>
    public long LastNeuronSteps { get; private set; }

    /// <summary>Spikes per neuron-step of the last forward pass (0 before the first).</summary>
    public double LastFiringRate =>
        LastNeuronSteps == 0 ? 0.0 : (double)LastSpikeCount / LastNeuronSteps;

    /// <summary>
    /// Multi-step: <paramref name="x"/> is <c>[T, N, ...]</c> and the spikes have the same shape.
    /// Single-step (<see cref="StepMode.Single"/>): <paramref name="x"/> is one step <c>[N, ...]</c>
    /// and the state carries to the next call.
    /// </summary>
    public override Tensor Forward(Tensor x)
    {
        using var owner = GraphRecorder.Enter(this);
        return Run(
            x,
            (x2, v0) => NeuronOps.Scan(Spec, x2, v0, ScanWeight, _stateDType, _spikeCount)
        );
    }

    /// <summary>
    /// Runs <paramref name="bn"/> (training mode, multi-step) and this neuron as one op
    /// (<see cref="BnNeuronOps.Scan"/>): only this neuron's H is saved for backward, BN's input is
    /// reconstructed from it. <paramref name="x"/> is BN's input <c>[T, N, C, H, W]</c>.
    /// </summary>
    /// <param name="bn">The BN before this neuron.</param>
    /// <param name="x">BN's input.</param>
    /// <param name="overwriteInput">
    /// The caller gives <paramref name="x"/> up (no other handle reads it afterwards): BN's output
    /// is written over it instead of into a new tensor.
    /// </param>
    public Tensor ForwardAfter(BatchNorm2d bn, Tensor x, bool overwriteInput = false)
    {
        ArgumentNullException.ThrowIfNull(bn);
        Check.Float(_op, "x", x);
        if (
            StepMode != StepMode.Multi
            || x.Rank != 5
            || x.Shape[2] != bn.Channels
            || !bn.IsTraining
        )
            throw new ArgumentException(
                $"{_op}: fusion with BatchNorm2d({bn.Channels}) needs multi-step [T, N, {bn.Channels}, H, W] input in training mode, got {x.Describe()} ({StepMode}, training={bn.IsTraining})",
                nameof(x)
            );
        using var owner = GraphRecorder.Enter(this);
        var inner = x.Shape[3] * x.Shape[4];
        var statistics = Recompute.Statistics(bn);
        return Run(
            x,
            (x2, v0) =>
                BnNeuronOps.Scan(
                    Spec,
                    x2,
                    bn.Channels,
                    inner,
                    bn.Weight,
                    bn.Bias,
                    bn.RunningMean,
                    bn.RunningVar,
                    bn.Momentum,
                    bn.Eps,
                    v0,
                    ScanWeight,
                    _stateDType,
                    _spikeCount,
                    overwriteInput,
                    statistics
                )
        );
    }

    private Tensor Run(Tensor x, Func<Tensor, Tensor?, (Tensor Spikes, Tensor VLast)> scan)
    {
        Check.Float(_op, "x", x);
        var multi = StepMode == StepMode.Multi;
        if (multi && x.Rank < 1)
            throw new ArgumentException(
                $"{_op}: multi-step input must be [T, ...], got {x.Shape}",
                nameof(x)
            );
        if (_stateDropped)
            throw new InvalidOperationException(
                $"{_op}: the membrane state after the last training call was not kept (a multi-step neuron in a recomputed segment or in a model of the min layout keeps none, docs/memory.md \"min\"); call ResetState() before the next call, or use the lean layout to carry the state across calls"
            );
        var steps = multi ? x.Shape[0] : 1;
        var m = checked((int)(x.Numel / steps));
        var stepShape = multi ? (x.Rank == 1 ? [1] : x.Shape.ToArray()[1..]) : x.Shape.ToArray();
        if (_v is not null && (_v.Numel != m || _v.Device != x.Device))
            throw new ArgumentException(
                $"{_op}: state V {_v.Describe()} does not match one step {Shape.Format(stepShape)} of x {x.Describe()}; call ResetState()",
                nameof(x)
            );

        if (_spikeCount is null || _spikeCount.Device != x.Device)
        {
            _spikeCount?.Dispose();
            _spikeCount = TensorScope.Unscoped(Tensor.Empty(new Shape(1), x.Device, DType.Int32));
        }
        using var x2 = x.Reshape(steps, m);
        using var v0 = _v?.Reshape(m);
        var (s2, vLast) = scan(x2, v0);
        LastNeuronSteps = (long)steps * m;
        using (s2)
        using (vLast)
        {
            // A training step starts every batch from rest (ResetState), so a multi-step neuron in a
            // recomputed segment, or any with KeepsTrainingState off, does not hold its last
            // membrane (one float32 step of its input) until then; its state stays unset and a
            // call that would continue from it fails.
            if (multi && IsTraining && (Recompute.IsActive || !KeepsTrainingState))
            {
                ReplaceV(null, owned: false);
                _stateDropped = true;
            }
            else
                ReplaceV(TensorScope.Unscoped(vLast.Reshape(stepShape)), owned: true);
            return s2.Reshape(x.Shape.ToArray());
        }
    }

    /// <summary>
    /// Whether a multi-step training call keeps its last membrane as the state the next call
    /// continues from (true by default; in a recomputed segment it never does). The min layout
    /// turns it off for every neuron (<see cref="MemoryOptions.ApplyTo"/>): a training step starts
    /// each batch from rest, and the state would stay allocated through backward for nothing.
    /// Evaluation and single-step calls always keep the state.
    /// </summary>
    public bool KeepsTrainingState { get; set; } = true;

    protected override void ResetOwnState()
    {
        ReplaceV(null, owned: false);
        _stateDropped = false;
        if (_spikeCount is not null)
        {
            _foldedCount = _spikeCount.ToInt32Array()[0];
            _spikeCount.Dispose();
            _spikeCount = null;
        }
    }

    protected override void DetachOwnState()
    {
        if (_v is null)
            return;
        ReplaceV(TensorScope.Unscoped(_v.Detach()), owned: true);
    }

    /// <summary>
    /// Puts <paramref name="v"/> in place as the state without disposing the current one, which is
    /// returned with whether this neuron owned it (a recomputed segment's replay, see
    /// <see cref="Recompute"/>).
    /// </summary>
    internal (Tensor? V, bool Owned, bool Dropped) ExchangeState(
        Tensor? v,
        bool owned,
        bool dropped = false
    )
    {
        var old = (_v, _ownsV, _stateDropped);
        _v = v;
        _ownsV = owned && v is not null;
        _stateDropped = dropped;
        return old;
    }

    private void ReplaceV(Tensor? value, bool owned)
    {
        if (_ownsV && _v is not null && !ReferenceEquals(_v, value))
            _v.Dispose();
        _v = value;
        _ownsV = owned && value is not null;
    }

    public override string ToString() =>
        $"{GetType().Name}(v_th={VThreshold}, v_reset={(VReset is { } r ? r.ToString() : "None")}, detach_reset={DetachReset}, surrogate={Surrogate})";
}
