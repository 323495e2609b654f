namespace SpikeEngine.Nn;

/// <summary>
/// A surrogate gradient for the Heaviside spike: the forward pass fires with <c>Θ(x)</c>
/// (<c>Θ(0) = 1</c>, <c>x = H - v_th</c>), the backward pass uses <c>ψ(x) = σ'(x)</c>, the derivative
/// of a smooth primitive σ. One file per surrogate holds its formulas (float32 span form for the
/// kernels, float64 primitive and gradient for tests); <c>kernels/surrogate.cuh</c> holds the CUDA
/// twin under the same name. Semantics and default α follow SpikingJelly's <c>surrogate</c> module.
/// </summary>
public abstract class Surrogate : ISurrogate
{
    private protected Surrogate(string op, float alpha)
    {
        if (!float.IsFinite(alpha) || !(alpha > 0f))
            throw new ArgumentException(
                $"{op}: 'alpha' must be finite and > 0, got {alpha}",
                nameof(alpha)
            );
        Alpha = alpha;
    }

    /// <inheritdoc/>
    public abstract SurrogateKind Kind { get; }

    /// <inheritdoc/>
    public float Alpha { get; }

    /// <inheritdoc/>
    public abstract void Gradient(ReadOnlySpan<float> x, Span<float> psi);

    /// <summary>The smooth primitive σ(x) in float64 (its derivative is <see cref="Gradient(double)"/>).</summary>
    public abstract double Primitive(double x);

    /// <summary>ψ(x) = σ'(x) in float64.</summary>
    public abstract double Gradient(double x);

    /// <summary>ψ(x) in float32 through the kernels' span form.</summary>
    public float Gradient(float x)
    {
        Span<float> v = [x];
        Gradient(v, v);
        return v[0];
    }

    /// <summary>Sigmoid surrogate, α = 4 by default: <c>ψ = α s (1 - s)</c>, <c>s = sigmoid(αx)</c>.</summary>
    public static Surrogate Sigmoid(float alpha = 4f) => new SigmoidSurrogate(alpha);

    /// <summary>ATan surrogate, α = 2 by default: <c>ψ = (α/2) / (1 + (παx/2)²)</c>.</summary>
    public static Surrogate ATan(float alpha = 2f) => new ATanSurrogate(alpha);

    /// <summary>Piecewise-quadratic surrogate, α = 1 by default: <c>ψ = max(0, α - α²|x|)</c>.</summary>
    public static Surrogate PiecewiseQuadratic(float alpha = 1f) =>
        new PiecewiseQuadraticSurrogate(alpha);

    /// <summary>Erf (Gaussian) surrogate, α = 2 by default: <c>ψ = (α/√π) e^{-α²x²}</c>.</summary>
    public static Surrogate Erf(float alpha = 2f) => new ErfSurrogate(alpha);

    /// <summary>SuperSpike surrogate, α = 1 by default: <c>ψ = α / (1 + |x|)²</c>.</summary>
    public static Surrogate SuperSpike(float alpha = 1f) => new SuperSpikeSurrogate(alpha);

    /// <summary>Rectangular surrogate, α = 1 by default: <c>ψ = α</c> where <c>|x| &lt; 1/(2α)</c>, else 0.</summary>
    public static Surrogate Rect(float alpha = 1f) => new RectSurrogate(alpha);

    public override string ToString() => $"{Kind}(alpha={Alpha})";
}
