namespace SpikeEngine.Training.Optim;

/// <summary>
/// The update rules, written once as fused per-parameter loops over contiguous float32 spans
/// (one read of p, g and the state, one write each). The CPU path calls these directly; a CUDA
/// fused step (<c>kernels/optim.cu</c>: <c>sgd_step_f32</c>, <c>adamw_step_f32</c>) takes the
/// same arguments in the same order.
/// </summary>
public static class OptimizerMath
{
    /// <summary>
    /// SGD with momentum, Nesterov and coupled weight decay (PyTorch's <c>torch.optim.SGD</c>):
    /// <c>d = g + wd·p</c>; <c>b = μ·b + d</c> (b = d on the first step);
    /// <c>u = d + μ·b</c> (Nesterov) or <c>b</c>; <c>p -= lr·u</c>. With μ = 0 the buffer is unused.
    /// </summary>
    public static void SgdStep(
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
    public static void AdamWStep(
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

    /// <summary>Σ g² in float64 (for the global gradient norm).</summary>
    public static double SumOfSquares(ReadOnlySpan<float> g)
    {
        double s = 0;
        for (int i = 0; i < g.Length; i++)
            s += (double)g[i] * g[i];
        return s;
    }

    /// <summary>Index of the first NaN or ±Inf in <paramref name="x"/>, or -1.</summary>
    public static int FirstNonFinite(ReadOnlySpan<float> x)
    {
        for (int i = 0; i < x.Length; i++)
        {
            if (!float.IsFinite(x[i]))
                return i;
        }
        return -1;
    }
}
