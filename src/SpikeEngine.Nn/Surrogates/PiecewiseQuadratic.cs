using System.Numerics.Tensors;

namespace SpikeEngine.Nn;

/// <summary>
/// Piecewise-quadratic surrogate (SpikingJelly <c>surrogate.PiecewiseQuadratic</c>, default α = 1):
/// primitive <c>σ(x) = 0</c> for <c>x &lt; -1/α</c>, <c>-α²x|x|/2 + αx + 1/2</c> for <c>|x| ≤ 1/α</c>,
/// 1 for <c>x &gt; 1/α</c>; gradient <c>ψ(x) = max(0, α - α²|x|)</c>.
/// CUDA twin: <c>sg_piecewise_quadratic_grad</c>.
/// </summary>
public sealed class PiecewiseQuadraticSurrogate(float alpha = 1f)
    : Surrogate("Surrogate.PiecewiseQuadratic", alpha)
{
    public override SurrogateKind Kind => SurrogateKind.PiecewiseQuadratic;

    public override double Primitive(double x)
    {
        double a = Alpha;
        if (x < -1.0 / a)
            return 0.0;
        if (x > 1.0 / a)
            return 1.0;
        return -a * a * x * Math.Abs(x) / 2.0 + a * x + 0.5;
    }

    public override double Gradient(double x) =>
        Math.Max(0.0, Alpha - (double)Alpha * Alpha * Math.Abs(x));

    public override void Gradient(ReadOnlySpan<float> x, Span<float> psi)
    {
        TensorPrimitives.Abs(x, psi);
        TensorPrimitives.Multiply(psi, -Alpha * Alpha, psi);
        TensorPrimitives.Add(psi, Alpha, psi);
        TensorPrimitives.Max(psi, 0f, psi);
    }
}
