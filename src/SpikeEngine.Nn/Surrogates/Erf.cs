using System.Numerics.Tensors;

namespace SpikeEngine.Nn;

/// <summary>
/// Gaussian-error-function surrogate (SpikingJelly <c>surrogate.Erf</c>, default α = 2):
/// primitive <c>σ(x) = (1 + erf(αx))/2 = erfc(-αx)/2</c>, gradient <c>ψ(x) = (α/√π) e^{-α²x²}</c>.
/// CUDA twin: <c>sg_erf_grad</c>.
/// </summary>
public sealed class ErfSurrogate(float alpha = 2f) : Surrogate("Surrogate.Erf", alpha)
{
    private const double InvSqrtPi = 0.56418958354775628695;

    public override SurrogateKind Kind => SurrogateKind.Erf;

    public override double Primitive(double x) => (1.0 + ErfFunction(Alpha * x)) / 2.0;

    public override double Gradient(double x) =>
        Alpha * InvSqrtPi * Math.Exp(-(Alpha * x) * (Alpha * x));

    public override void Gradient(ReadOnlySpan<float> x, Span<float> psi)
    {
        TensorPrimitives.Multiply(x, Alpha, psi);
        TensorPrimitives.Multiply(psi, psi, psi);
        TensorPrimitives.Negate(psi, psi);
        TensorPrimitives.Exp(psi, psi);
        TensorPrimitives.Multiply(psi, Alpha * (float)InvSqrtPi, psi);
    }

    /// <summary>
    /// erf(z) in float64 from the all-positive series
    /// <c>erf(z) = (2/√π) e^{-z²} Σ_n 2ⁿ z^{2n+1} / (1·3·…·(2n+1))</c> (no cancellation; full
    /// precision for |z| ≤ 6, and |erf(z)| rounds to 1 beyond).
    /// </summary>
    public static double ErfFunction(double z)
    {
        if (double.IsNaN(z))
            return double.NaN;
        if (Math.Abs(z) > 6.0)
            return Math.Sign(z);
        var term = z;
        var sum = z;
        var z2 = z * z;
        for (var n = 1; n < 400; n++)
        {
            term *= 2.0 * z2 / (2 * n + 1);
            sum += term;
            if (Math.Abs(term) < 1e-17 * Math.Abs(sum))
                break;
        }
        return 2.0 * InvSqrtPi * Math.Exp(-z2) * sum;
    }
}
