using System.Numerics.Tensors;

namespace SpikeEngine.Cpu;

// Optimizer steps and gradient reductions over lists of float32 tensors. The per-tensor loops are
// the specification of kernels/optim.cu (same arguments, same order, same float32 math): fused,
// one read of p, g and the state and one write each, in index order, so results do not depend on
// the thread count.
public sealed partial class CpuBackend
{
    public void SgdStep(
        IReadOnlyList<Tensor> parameters,
        IReadOnlyList<Tensor> grads,
        IReadOnlyList<Tensor>? momentumBuffers,
        float lr,
        float momentum,
        float weightDecay,
        bool nesterov,
        bool firstStep
    )
    {
        if (momentum != 0f && momentumBuffers is null)
            throw new ArgumentException(
                $"SgdStep: momentum {momentum} needs momentum buffers",
                nameof(momentumBuffers)
            );
        CheckLists("SgdStep", parameters, grads, momentum != 0f ? momentumBuffers : null, null);
        for (var i = 0; i < parameters.Count; i++)
        {
            var buf = momentum != 0f ? momentumBuffers![i].Span() : Span<float>.Empty;
            SgdStepLoop(
                parameters[i].Span(),
                grads[i].Span(),
                buf,
                lr,
                momentum,
                weightDecay,
                nesterov,
                firstStep
            );
        }
    }

    public void AdamWStep(
        IReadOnlyList<Tensor> parameters,
        IReadOnlyList<Tensor> grads,
        IReadOnlyList<Tensor> m,
        IReadOnlyList<Tensor> v,
        float lr,
        float beta1,
        float beta2,
        float eps,
        float weightDecay,
        long step
    )
    {
        CheckLists("AdamWStep", parameters, grads, m, v);
        for (var i = 0; i < parameters.Count; i++)
        {
            AdamWStepLoop(
                parameters[i].Span(),
                grads[i].Span(),
                m[i].Span(),
                v[i].Span(),
                lr,
                beta1,
                beta2,
                eps,
                weightDecay,
                step
            );
        }
    }

    public double SumOfSquares(IReadOnlyList<Tensor> xs)
    {
        ArgumentNullException.ThrowIfNull(xs);
        double s = 0;
        foreach (var x in xs)
            s += SumOfSquaresLoop(x.Span());
        return s;
    }

    public NonFiniteElement? FindNonFinite(IReadOnlyList<Tensor> xs)
    {
        ArgumentNullException.ThrowIfNull(xs);
        for (var t = 0; t < xs.Count; t++)
        {
            var x = xs[t].Span();
            var i = FirstNonFiniteLoop(x);
            if (i >= 0)
                return new NonFiniteElement(t, i, x[i]);
        }
        return null;
    }

    public void ScaleInPlace(IReadOnlyList<Tensor> xs, float scale)
    {
        ArgumentNullException.ThrowIfNull(xs);
        foreach (var x in xs)
        {
            var s = x.Span();
            TensorPrimitives.Multiply(s, scale, s);
        }
    }

    /// <summary>
    /// SGD with momentum, Nesterov and coupled weight decay (PyTorch's <c>torch.optim.SGD</c>):
    /// <c>d = g + wd·p</c>; <c>b = μ·b + d</c> (b = d on the first step);
    /// <c>u = d + μ·b</c> (Nesterov) or <c>b</c>; <c>p -= lr·u</c>. With μ = 0 the buffer is unused.
    /// </summary>
    internal static void SgdStepLoop(
        Span<float> p, // (numel)
        ReadOnlySpan<float> g, // (numel)
        Span<float> buf, // (numel), momentum buffer; may be empty when momentum = 0
        float lr,
        float momentum,
        float weightDecay,
        bool nesterov,
        bool firstStep
    )
    {
        if (g.Length != p.Length || (momentum != 0f && buf.Length != p.Length))
            throw new ArgumentException(
                $"sgd_step: span lengths differ (p {p.Length}, g {g.Length}, buf {buf.Length})"
            );
        for (int i = 0; i < p.Length; i++)
        {
            float d = g[i] + weightDecay * p[i];
            if (momentum != 0f)
            {
                float b = firstStep ? d : momentum * buf[i] + d;
                buf[i] = b;
                d = nesterov ? d + momentum * b : b;
            }
            p[i] -= lr * d;
        }
    }

    /// <summary>
    /// AdamW (Loshchilov &amp; Hutter, decoupled weight decay; PyTorch's <c>torch.optim.AdamW</c>):
    /// <c>p *= 1 - lr·wd</c>; <c>m = β1·m + (1-β1)·g</c>; <c>v = β2·v + (1-β2)·g²</c>;
    /// <c>p -= lr · (m / (1-β1^t)) / (√(v / (1-β2^t)) + ε)</c>, t counted from 1.
    /// </summary>
    internal static void AdamWStepLoop(
        Span<float> p, // (numel)
        ReadOnlySpan<float> g, // (numel)
        Span<float> m, // (numel) first moment
        Span<float> v, // (numel) second moment
        float lr,
        float beta1,
        float beta2,
        float eps,
        float weightDecay,
        long t
    )
    {
        if (g.Length != p.Length || m.Length != p.Length || v.Length != p.Length)
            throw new ArgumentException(
                $"adamw_step: span lengths differ (p {p.Length}, g {g.Length}, m {m.Length}, v {v.Length})"
            );
        if (t < 1)
            throw new ArgumentOutOfRangeException(
                nameof(t),
                t,
                "adamw_step: step count t starts at 1"
            );
        float bc1 = 1f - MathF.Pow(beta1, t);
        float bc2Sqrt = MathF.Sqrt(1f - MathF.Pow(beta2, t));
        float stepSize = lr / bc1;
        float decay = 1f - lr * weightDecay;
        for (int i = 0; i < p.Length; i++)
        {
            float gi = g[i];
            float mi = beta1 * m[i] + (1f - beta1) * gi;
            float vi = beta2 * v[i] + (1f - beta2) * gi * gi;
            m[i] = mi;
            v[i] = vi;
            p[i] = p[i] * decay - stepSize * mi / (MathF.Sqrt(vi) / bc2Sqrt + eps);
        }
    }

    /// <summary>Σ g² in float64, in index order.</summary>
    internal static double SumOfSquaresLoop(ReadOnlySpan<float> g)
    {
        double s = 0;
        for (int i = 0; i < g.Length; i++)
            s += (double)g[i] * g[i];
        return s;
    }

    /// <summary>Index of the first NaN or ±Inf in <paramref name="x"/>, or -1.</summary>
    internal static int FirstNonFiniteLoop(ReadOnlySpan<float> x)
    {
        for (int i = 0; i < x.Length; i++)
        {
            if (!float.IsFinite(x[i]))
                return i;
        }
        return -1;
    }

    private static void CheckLists(
        string op,
        IReadOnlyList<Tensor> parameters,
        IReadOnlyList<Tensor> grads,
        IReadOnlyList<Tensor>? a,
        IReadOnlyList<Tensor>? b
    )
    {
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentNullException.ThrowIfNull(grads);
        foreach (var (list, name) in new[] { (grads, "grads"), (a, "state"), (b, "state") })
        {
            if (list is null)
                continue;
            if (list.Count != parameters.Count)
                throw new ArgumentException(
                    $"{op}: {parameters.Count} parameters but {list.Count} {name}"
                );
            for (var i = 0; i < list.Count; i++)
            {
                if (list[i].Numel != parameters[i].Numel)
                    throw new ArgumentException(
                        $"{op}: {name}[{i}] {list[i].Describe()} does not match parameter {parameters[i].Describe()}"
                    );
            }
        }
    }
}
