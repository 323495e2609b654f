namespace SpikeEngine.Nn;

/// <summary>
/// Leaky integrate-and-fire neuron (SpikingJelly <c>LIFNode</c>). Charge with decay_input:
/// <c>H_t = V_{t-1} + (X_t - (V_{t-1} - V_r*))/τ</c>; without: <c>H_t = V_{t-1} - (V_{t-1} - V_r*)/τ + X_t</c>;
/// fire <c>S_t = Θ(H_t - v_th)</c>; reset hard <c>V_t = H_t(1 - S_t) + v_reset S_t</c> or soft
/// <c>V_t = H_t - v_th S_t</c>. <c>V_r*</c> is v_reset (hard) or 0 (soft).
/// </summary>
public sealed class LifNode : FusedNeuronNode
{
    public LifNode(
        float tau = 2f,
        float vThreshold = 1f,
        float? vReset = 0f,
        bool decayInput = true,
        bool detachReset = false,
        Surrogate? surrogate = null
    )
        : base("LifNode", vThreshold, vReset, detachReset, surrogate)
    {
        if (!float.IsFinite(tau) || !(tau > 1f))
            throw new ArgumentException(
                $"LifNode: 'tau' must be finite and > 1, got {tau}",
                nameof(tau)
            );
        Tau = tau;
        DecayInput = decayInput;
    }

    /// <summary>Membrane time constant τ (&gt; 1).</summary>
    public float Tau { get; }

    /// <summary>The input is scaled by 1/τ as well.</summary>
    public bool DecayInput { get; }

    public override NeuronSpec Spec =>
        new(NeuronKind.Lif, 1f / Tau, VThreshold, VReset, DecayInput, DetachReset, Surrogate);
}
