using System.Globalization;
using SpikeEngine.Nn;

namespace SpikeEngine.Nir;

/// <summary>
/// NIR nodes run step by step with one parameter value per neuron (docs/nir.md): the neuron
/// family (<c>LI</c>, <c>I</c>, <c>LIF</c>, <c>IF</c>, <c>CubaLI</c>, <c>CubaLIF</c>) discretised by
/// forward Euler at step dt, and <c>Delay</c>. Built from differentiable tensor ops (per-neuron
/// scaling is <see cref="Ops.ChannelAffine"/> over the neuron axis, firing is
/// <see cref="NeuronSlow.Fire"/> with a sigmoid surrogate), so imported graphs train; state
/// carries from one <see cref="NirOp.Forward"/> call to the next until <c>ResetState</c>.
/// </summary>
internal abstract class StepOp : NirOp
{
    protected StepOp(string node, int[] shape)
        : base(node, shape)
    {
        Neurons = Numel(shape);
    }

    /// <summary>Values per sample (neurons of the layer).</summary>
    protected int Neurons { get; }

    /// <summary>A constant per-neuron vector (M), kept as a buffer so it moves with the model.</summary>
    protected Tensor Constant(string name, double[] values) =>
        Buffer(name, Tensor.FromArray([.. values.Select(v => (float)v)], [values.Length]));

    protected sealed override Tensor Apply(Tensor x, int t, int n)
    {
        using var steps = x.Reshape(t, n * Neurons);
        var outputs = new Tensor[t];
        try
        {
            for (int k = 0; k < t; k++)
            {
                using var flat = NeuronSlow.TimeStep(steps, k);
                using var xt = flat.Reshape(n, Neurons);
                using var y = Step(xt, n);
                outputs[k] = y.Reshape(n * Neurons);
            }
            using var stacked = NeuronSlow.Stack(outputs);
            return Unfold(stacked, t, n);
        }
        finally
        {
            foreach (var o in outputs)
                o?.Dispose();
        }
    }

    /// <summary>One step: x (N, M) → y (N, M).</summary>
    protected abstract Tensor Step(Tensor x, int n);

    /// <summary>Per-neuron affine y = x · scale + shift over (N, M); either may be null.</summary>
    protected static Tensor Affine(Tensor x, Tensor? scale, Tensor? shift) =>
        Ops.ChannelAffine(x, scale, shift, axis: 1);

    /// <summary>Replaces a state tensor, keeping it past the current tensor scope.</summary>
    protected static void SetState(ref Tensor? state, Tensor? value)
    {
        if (ReferenceEquals(state, value))
            return;
        state?.Dispose();
        state = value is null ? null : TensorScope.Unscoped(value);
    }

    /// <summary>State (N, M) for batch <paramref name="n"/>: <paramref name="state"/>, or a new one filled from <paramref name="rest"/>.</summary>
    protected Tensor State(ref Tensor? state, string what, int n, double[] rest, Device device)
    {
        if (state is not null)
        {
            if (state.Shape[0] != n || state.Device != device)
                throw new ArgumentException(
                    $"NIR node '{Node}': state {what} {state.Describe()} does not match batch {n} on {device}; call ResetState()"
                );
            return state;
        }
        var values = new float[n * Neurons];
        for (int i = 0; i < values.Length; i++)
            values[i] = (float)rest[i % Neurons];
        SetState(ref state, Tensor.FromArray(values, [n, Neurons], device: device));
        return state!;
    }

    /// <summary>
    /// The per-neuron values of <paramref name="key"/>: one per neuron (any shape with that many
    /// elements, in C order), or one value for all; <paramref name="fallback"/> when absent.
    /// </summary>
    internal static double[] PerNeuron(
        string name,
        NirNode node,
        string key,
        int neurons,
        double? fallback = null
    )
    {
        if (!node.Arrays.TryGetValue(key, out var a))
        {
            if (fallback is { } f)
                return [.. Enumerable.Repeat(f, neurons)];
            throw new NirFormatException(
                $"NIR import: node '{name}' ({node.Type}) has no '{key}' (it has: {string.Join(", ", node.Arrays.Keys)})"
            );
        }
        if (a.Count != 1 && a.Count != neurons)
            throw new NirFormatException(
                $"NIR import: node '{name}' ({node.Type}) '{key}' has shape {NirModel.Fmt(a.Shape)} ({a.Count} values) but the layer has {neurons} neurons"
            );
        foreach (var v in a.Data)
            if (!double.IsFinite(v))
                throw new NirFormatException(
                    $"NIR import: node '{name}' ({node.Type}) '{key}' holds {v.ToString(CultureInfo.InvariantCulture)}"
                );
        return a.Count == 1 ? [.. Enumerable.Repeat(a.Data[0], neurons)] : [.. a.Data];
    }
}

/// <summary>
/// The NIR neuron family by forward Euler, per neuron m at step dt:
/// synapse (CubaLI, CubaLIF) <c>i ← i + (dt/τ_syn)(w_in·x − i)</c>, drive d = i (else d = x);
/// leaky membrane (LI, LIF, Cuba*) <c>v ← v + (dt/τ)(v_leak − v + R·d)</c>, integrator (I, IF)
/// <c>v ← v + dt·R·d</c>; spiking nodes (LIF, IF, CubaLIF) emit <c>s = Θ(v − v_threshold)</c> and
/// reset <c>v ← v_reset</c> where s = 1, the others output v. The membrane starts at v_leak
/// (leaky), v_reset (IF) or 0 (I); the synaptic current at 0.
/// </summary>
internal sealed class EulerNeuronOp : StepOp, INirStateful
{
    private readonly Tensor? _synKeep,
        _synIn,
        _keep,
        _leak,
        _negThreshold,
        _reset;
    private readonly Tensor _gain;
    private readonly double[] _rest;
    private readonly Surrogate _surrogate = Surrogate.Sigmoid(4f);
    private Tensor? _v,
        _i;

    public EulerNeuronOp(string name, NirNode node, int[] shape, double dt)
        : base(name, shape)
    {
        int m = Neurons;
        var type = node.Type;
        bool synapse = type is "CubaLI" or "CubaLIF";
        bool leaky = type is "LI" or "LIF" or "CubaLI" or "CubaLIF";
        bool spiking = type is "LIF" or "IF" or "CubaLIF";
        var r = PerNeuron(name, node, "r", m);
        if (synapse)
        {
            var tauSyn = TimeConstant(name, node, "tau_syn", m, dt);
            var wIn = PerNeuron(name, node, "w_in", m, fallback: 1);
            _synKeep = Constant("syn_keep", [.. tauSyn.Select(t => 1 - dt / t)]);
            _synIn = Constant("syn_in", [.. tauSyn.Select((t, k) => dt / t * wIn[k])]);
        }
        if (leaky)
        {
            var tau = TimeConstant(name, node, synapse ? "tau_mem" : "tau", m, dt);
            var vLeak = PerNeuron(name, node, "v_leak", m);
            _keep = Constant("keep", [.. tau.Select(t => 1 - dt / t)]);
            _leak = Constant("leak", [.. tau.Select((t, k) => dt / t * vLeak[k])]);
            _gain = Constant("gain", [.. tau.Select((t, k) => dt / t * r[k])]);
            _rest = vLeak;
        }
        else
        {
            _gain = Constant("gain", [.. r.Select(v => dt * v)]);
            _rest = new double[m];
        }
        if (spiking)
        {
            var vReset = PerNeuron(name, node, "v_reset", m, fallback: 0);
            _negThreshold = Constant(
                "neg_threshold",
                [.. PerNeuron(name, node, "v_threshold", m).Select(v => -v)]
            );
            _reset = Constant("reset", vReset);
            if (!leaky)
                _rest = vReset;
        }
    }

    private static double[] TimeConstant(
        string name,
        NirNode node,
        string key,
        int neurons,
        double dt
    )
    {
        var tau = PerNeuron(name, node, key, neurons);
        foreach (var t in tau)
            if (!(t >= dt))
                throw new NirFormatException(
                    $"NIR import: node '{name}' ({node.Type}) has {key} = {t.ToString("G6", CultureInfo.InvariantCulture)} s, shorter than dt = {dt.ToString("G6", CultureInfo.InvariantCulture)} s; forward Euler needs {key} ≥ dt"
                );
        return tau;
    }

    public Tensor? V => _v;

    protected override Tensor Step(Tensor x, int n)
    {
        var v = State(ref _v, "v", n, _rest, x.Device);
        Tensor? drive = null;
        if (_synIn is not null)
        {
            var i = State(ref _i, "i", n, new double[Neurons], x.Device);
            using var kept = Affine(i, _synKeep, null);
            using var added = Affine(x, _synIn, null);
            SetState(ref _i, kept + added);
            drive = _i;
        }
        using var charge = Affine(drive ?? x, _gain, null);
        Tensor h;
        if (_keep is not null)
        {
            using var leaked = Affine(v, _keep, _leak);
            h = leaked + charge;
        }
        else
            h = v + charge;
        if (_negThreshold is null)
        {
            SetState(ref _v, h);
            return h.Reshape(h.Shape.ToArray());
        }
        using (h)
        {
            using var over = Affine(h, null, _negThreshold);
            var s = NeuronSlow.Fire(over, _surrogate);
            using var held = s.Detach();
            using var kept = h * held;
            using var dropped = h - kept;
            using var reset = Affine(held, _reset, null);
            SetState(ref _v, dropped + reset);
            return s;
        }
    }

    protected override void ResetOwnState()
    {
        SetState(ref _v, null);
        SetState(ref _i, null);
    }

    protected override void DetachOwnState()
    {
        if (_v is not null)
            SetState(ref _v, _v.Detach());
        if (_i is not null)
            SetState(ref _i, _i.Detach());
    }
}

/// <summary>
/// NIR <c>Delay</c> (<c>y(t) = x(t − delay)</c>): each element is delayed by round(delay/dt)
/// steps (zero before its first input arrives); the last inputs carry to the next call.
/// </summary>
internal sealed class DelayOp : StepOp
{
    private readonly (int Steps, Tensor? Mask)[] _groups;
    private readonly int _depth;
    private readonly List<Tensor> _history = []; // last inputs (N, M), oldest first

    public DelayOp(string name, NirNode node, int[] shape, double dt)
        : base(name, shape)
    {
        var delays = PerNeuron(name, node, "delay", Neurons)
            .Select(d =>
            {
                var steps = Math.Round(d / dt);
                if (!(d >= 0) || steps > 1_000_000)
                    throw new NirFormatException(
                        $"NIR import: node '{name}' (Delay) has delay {d.ToString("G6", CultureInfo.InvariantCulture)} s; expected 0 ≤ delay ≤ 10⁶·dt"
                    );
                return (int)steps;
            })
            .ToArray();
        var distinct = delays.Distinct().Order().ToArray();
        _depth = distinct[^1];
        _groups =
        [
            .. distinct.Select(k =>
                (
                    k,
                    distinct.Length == 1
                        ? null
                        : Constant($"mask_{k}", [.. delays.Select(d => d == k ? 1.0 : 0.0)])
                )
            ),
        ];
    }

    protected override Tensor Step(Tensor x, int n)
    {
        if (_history.Count > 0 && _history[0].Shape[0] != n)
            throw new ArgumentException(
                $"NIR node '{Node}': delay line holds batch {_history[0].Shape[0]}, input has {n}; call ResetState()"
            );
        _history.Add(TensorScope.Unscoped(x.Reshape(x.Shape.ToArray())));
        Tensor? sum = null;
        foreach (var (steps, mask) in _groups)
        {
            int at = _history.Count - 1 - steps;
            if (at < 0)
                continue;
            var src = _history[at];
            var part = mask is null ? src.Reshape(src.Shape.ToArray()) : Affine(src, mask, null);
            if (sum is null)
                sum = part;
            else
            {
                using (part)
                using (var old = sum)
                    sum = old + part;
            }
        }
        while (_history.Count > _depth + 1)
        {
            _history[0].Dispose();
            _history.RemoveAt(0);
        }
        return sum ?? Tensor.Zeros([n, Neurons], x.Device);
    }

    protected override void ResetOwnState()
    {
        foreach (var h in _history)
            h.Dispose();
        _history.Clear();
    }

    protected override void DetachOwnState()
    {
        for (int i = 0; i < _history.Count; i++)
        {
            var d = TensorScope.Unscoped(_history[i].Detach());
            _history[i].Dispose();
            _history[i] = d;
        }
    }
}
