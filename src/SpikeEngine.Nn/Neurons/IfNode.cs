namespace SpikeEngine.Nn;

/// <summary>
/// Integrate-and-fire neuron (SpikingJelly <c>IFNode</c>): charge <c>H_t = V_{t-1} + X_t</c>, fire
/// <c>S_t = Θ(H_t - v_th)</c>, reset hard <c>V_t = H_t(1 - S_t) + v_reset S_t</c> or soft
/// <c>V_t = H_t - v_th S_t</c>.
/// </summary>
public sealed class IfNode(
    float vThreshold = 1f,
    float? vReset = 0f,
    bool detachReset = false,
    Surrogate? surrogate = null
) : FusedNeuronNode("IfNode", vThreshold, vReset, detachReset, surrogate)
{
    public override NeuronSpec Spec =>
        new(NeuronKind.If, 1f, VThreshold, VReset, false, DetachReset, Surrogate);
}
