namespace SpikeEngine.Nn;

/// <summary>
/// Parametric LIF neuron (Fang et al., "Incorporating learnable membrane time constant to enhance
/// learning of spiking neural networks", ICCV 2021; SpikingJelly <c>ParametricLIFNode</c>): LIF with
/// <c>1/τ = sigmoid(w)</c> and one learnable scalar <see cref="W"/> per layer, initialised to
/// <c>-ln(initTau - 1)</c> so that <c>sigmoid(w) = 1/initTau</c>.
/// </summary>
public sealed class PlifNode : FusedNeuronNode
{
    public PlifNode(
        float initTau = 2f,
        float vThreshold = 1f,
        float? vReset = 0f,
        bool decayInput = true,
        bool detachReset = false,
        Surrogate? surrogate = null
    )
        : base("PlifNode", vThreshold, vReset, detachReset, surrogate)
    {
        if (!float.IsFinite(initTau) || !(initTau > 1f))
            throw new ArgumentException(
                $"PlifNode: 'initTau' must be finite and > 1, got {initTau}",
                nameof(initTau)
            );
        DecayInput = decayInput;
        W = Parameter("w", Tensor.Full([1], (float)-Math.Log(initTau - 1.0)));
    }

    /// <summary>The learnable weight, shape [1]: <c>1/τ = sigmoid(W)</c>.</summary>
    public Tensor W { get; }

    /// <summary>The input is scaled by 1/τ as well.</summary>
    public bool DecayInput { get; }

    /// <summary>The current time constant <c>1/sigmoid(W)</c>.</summary>
    public float Tau => (float)(1.0 + Math.Exp(-W.Item()));

    public override NeuronSpec Spec =>
        new(NeuronKind.Plif, 0f, VThreshold, VReset, DecayInput, DetachReset, Surrogate);

    private protected override Tensor? ScanWeight => W;
}
