namespace SpikeEngine;

/// <summary>Which charge equation a fused neuron runs (numbers match the CUDA kernels' <c>kind</c>).</summary>
public enum NeuronKind
{
    /// <summary>Integrate-and-fire: <c>H_t = V_{t-1} + X_t</c>.</summary>
    If = 0,

    /// <summary>Leaky integrate-and-fire with a fixed <c>k = 1/tau</c>.</summary>
    Lif = 1,

    /// <summary>LIF with <c>k = sigmoid(w)</c>, one learnable <c>w</c> per layer (Fang et al., ICCV 2021).</summary>
    Plif = 2,
}

/// <summary>The surrogate gradients (numbers match <c>SG_*</c> in <c>kernels/surrogate.cuh</c>).</summary>
public enum SurrogateKind
{
    Sigmoid = 0,
    ATan = 1,
    PiecewiseQuadratic = 2,
    Erf = 3,
    SuperSpike = 4,
    Rect = 5,
}

/// <summary>
/// The surrogate derivative <c>ψ(x) = σ'(x)</c> of the Heaviside spike at <c>x = H - v_th</c>,
/// as the CPU kernels consume it: over a span, so the per-call cost is paid once per tile of
/// neurons. The formulas live in SpikeEngine.Nn's <c>Surrogates/</c>, one file per surrogate.
/// </summary>
public interface ISurrogate
{
    /// <summary>Which surrogate (selects the CUDA formula).</summary>
    SurrogateKind Kind { get; }

    /// <summary>The shape parameter α.</summary>
    float Alpha { get; }

    /// <summary>psi[i] = σ'(x[i]) in float32 (spans of equal length; may alias).</summary>
    void Gradient(ReadOnlySpan<float> x, Span<float> psi);
}

/// <summary>
/// Parameters of the fused neuron scan (<see cref="IBackend.NeuronForward"/>): the equations are in
/// docs/neurons.md, "Equations" (SpikingJelly semantics).
/// </summary>
/// <param name="Kind">IF, LIF or PLIF.</param>
/// <param name="K">1/tau for LIF (ignored for IF; PLIF takes <c>sigmoid(w)</c> from its weight tensor).</param>
/// <param name="VThreshold">Firing threshold v_th.</param>
/// <param name="VReset">Hard-reset potential, or null for soft reset (subtract v_th).</param>
/// <param name="DecayInput">LIF/PLIF: the input is scaled by k as well (<c>decay_input</c>).</param>
/// <param name="DetachReset">The spike in the reset term is a constant for backward.</param>
/// <param name="Surrogate">The surrogate derivative used in backward.</param>
public readonly record struct NeuronSpec(
    NeuronKind Kind,
    float K,
    float VThreshold,
    float? VReset,
    bool DecayInput,
    bool DetachReset,
    ISurrogate Surrogate
)
{
    /// <summary>True for hard reset (<see cref="VReset"/> given).</summary>
    public bool HardReset => VReset.HasValue;

    /// <summary><c>V_r*</c>: v_reset for hard reset, 0 for soft; also the rest state <c>V_0</c>.</summary>
    public float Rest => VReset ?? 0f;

    /// <summary>
    /// Refuses a spike counter for a scan of <paramref name="t"/> × <paramref name="m"/> neurons
    /// when the count could exceed an int32 (every backend checks the same bound before running,
    /// so none wraps or fails half-way).
    /// </summary>
    public static void CheckSpikeCount(string op, long t, long m)
    {
        if (t * m > int.MaxValue)
            throw new ArgumentException(
                $"{op}: 'spikeCount' is int32, but T·M = {t}·{m} = {t * m} spikes could exceed {int.MaxValue}; pass null and count the spikes tensor instead",
                "spikeCount"
            );
    }
}
