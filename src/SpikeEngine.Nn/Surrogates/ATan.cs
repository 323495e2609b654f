using System.Numerics.Tensors;

namespace SpikeEngine.Nn;

/// <summary>
/// Arc-tangent surrogate (SpikingJelly <c>surrogate.ATan</c>, default α = 2):
/// primitive <c>σ(x) = atan(παx/2)/π + 1/2</c>, gradient <c>ψ(x) = (α/2) / (1 + (παx/2)²)</c>.
/// CUDA twin: <c>sg_atan_grad</c>.
/// </summary>
public sealed class ATanSurrogate(float alpha = 2f) : Surrogate("Surrogate.ATan", alpha)
{
    public override SurrogateKind Kind => SurrogateKind.ATan;

    public override double Primitive(double x) =>
        Math.Atan(Math.PI * Alpha * x / 2.0) / Math.PI + 0.5;

    public override double Gradient(double x)
    {
        var u = Math.PI * Alpha * x / 2.0;
        return Alpha / 2.0 / (1.0 + u * u);
    }

    public override void Gradient(ReadOnlySpan<float> x, Span<float> psi)
    {
        TensorPrimitives.Multiply(x, MathF.PI / 2f * Alpha, psi);
        TensorPrimitives.Multiply(psi, psi, psi);
        TensorPrimitives.Add(psi, 1f, psi);
        TensorPrimitives.Divide(Alpha / 2f, psi, psi);
    }
}
