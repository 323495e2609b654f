using System.Numerics;

namespace SpikeEngine.Nn;

/// <summary>
/// Rectangular surrogate (straight-through window, default α = 1): primitive
/// <c>σ(x) = clamp(αx + 1/2, 0, 1)</c>, gradient <c>ψ(x) = α</c> where <c>|x| &lt; 1/(2α)</c>, else 0.
/// CUDA twin: <c>sg_rect_grad</c>.
/// </summary>
public sealed class RectSurrogate(float alpha = 1f) : Surrogate("Surrogate.Rect", alpha)
{
    public override SurrogateKind Kind => SurrogateKind.Rect;

    public override double Primitive(double x) => Math.Clamp(Alpha * x + 0.5, 0.0, 1.0);

    public override double Gradient(double x) => Math.Abs(x) < 0.5 / Alpha ? Alpha : 0.0;

    public override void Gradient(ReadOnlySpan<float> x, Span<float> psi)
    {
        var half = 0.5f / Alpha;
        var limit = new Vector<float>(half);
        var a = new Vector<float>(Alpha);
        var j = 0;
        for (; j <= x.Length - Vector<float>.Count; j += Vector<float>.Count)
        {
            var inside = Vector.LessThan(Vector.Abs(new Vector<float>(x[j..])), limit);
            Vector.ConditionalSelect(inside, a, Vector<float>.Zero).CopyTo(psi[j..]);
        }
        for (; j < x.Length; j++)
            psi[j] = MathF.Abs(x[j]) < half ? Alpha : 0f;
    }
}
