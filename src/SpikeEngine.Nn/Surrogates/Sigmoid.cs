using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;

namespace SpikeEngine.Nn;

/// <summary>
/// Sigmoid surrogate (SpikingJelly <c>surrogate.Sigmoid</c>, default α = 4):
/// primitive <c>σ(x) = sigmoid(αx)</c>, gradient <c>ψ(x) = α s (1 - s)</c> with <c>s = sigmoid(αx)</c>.
/// CUDA twin: <c>sg_sigmoid_grad</c>.
/// </summary>
public sealed class SigmoidSurrogate(float alpha = 4f) : Surrogate("Surrogate.Sigmoid", alpha)
{
    public override SurrogateKind Kind => SurrogateKind.Sigmoid;

    public override double Primitive(double x) => 1.0 / (1.0 + Math.Exp(-Alpha * x));

    public override double Gradient(double x)
    {
        var s = Primitive(x);
        return Alpha * s * (1.0 - s);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public override void Gradient(ReadOnlySpan<float> x, Span<float> psi)
    {
        TensorPrimitives.Multiply(x, Alpha, psi);
        TensorPrimitives.Sigmoid(psi, psi);
        var a = new Vector<float>(Alpha);
        var j = 0;
        for (; j <= psi.Length - Vector<float>.Count; j += Vector<float>.Count)
        {
            var s = new Vector<float>(psi[j..]);
            (a * s * (Vector<float>.One - s)).CopyTo(psi[j..]);
        }
        for (; j < psi.Length; j++)
            psi[j] = Alpha * psi[j] * (1f - psi[j]);
    }
}
