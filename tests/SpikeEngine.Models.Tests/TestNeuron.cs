using SpikeEngine.Nn;

namespace SpikeEngine.Models.Tests;

/// <summary>
/// TEST DOUBLE, not a model neuron: a stateless threshold unit S = Θ(X − 1) whose backward is a
/// sigmoid surrogate σ'(4(X − 1)) (straight-through: forward hard, gradient soft), built from
/// Core ops. It stands in for <c>LifNode</c> until the neuron branch is merged.
/// </summary>
internal sealed class TestSpikeNeuron : NeuronNode
{
    public override Tensor? V { get; set; }

    public override Tensor Forward(Tensor x)
    {
        using var u = x - 1f;
        using var scaled = u * 4f;
        using var soft = scaled.Sigmoid();
        Tensor diff; // Θ(u) − σ(4u), a constant: gradients flow through `soft` only
        using (GradMode.NoGrad())
        {
            using var step = u.Heaviside();
            diff = step - soft;
        }
        using (diff)
            return soft + diff;
    }
}
