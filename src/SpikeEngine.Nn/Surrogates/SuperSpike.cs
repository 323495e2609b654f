using System.Numerics.Tensors;

namespace SpikeEngine.Nn;

/// <summary>
/// SuperSpike surrogate (Zenke and Ganguli 2018; SpikingJelly <c>surrogate.SuperSpike</c>, default α = 1):
/// gradient <c>ψ(x) = α / (1 + |x|)²</c>, whose primitive is <c>σ(x) = αx / (1 + |x|) + 1/2</c>
/// (a fast sigmoid; SpikingJelly defines no primitive for it). CUDA twin: <c>sg_super_spike_grad</c>.
/// </summary>
public sealed class SuperSpikeSurrogate(float alpha = 1f) : Surrogate("Surrogate.SuperSpike", alpha)
{
    public override SurrogateKind Kind => SurrogateKind.SuperSpike;

    public override double Primitive(double x) => Alpha * x / (1.0 + Math.Abs(x)) + 0.5;

    public override double Gradient(double x)
    {
        var d = 1.0 + Math.Abs(x);
        return Alpha / (d * d);
    }

    public override void Gradient(ReadOnlySpan<float> x, Span<float> psi)
    {
        TensorPrimitives.Abs(x, psi);
        TensorPrimitives.Add(psi, 1f, psi);
        TensorPrimitives.Multiply(psi, psi, psi);
        TensorPrimitives.Divide(Alpha, psi, psi);
    }
}
