using SpikeEngine.Training.Optim;

namespace SpikeEngine.Training;

/// <summary>What to do when the loss or a gradient holds NaN or ±Inf.</summary>
public enum NonFinitePolicy
{
    /// <summary>Fail with <see cref="NonFiniteException"/> naming the first parameter whose gradient is non-finite.</summary>
    Stop,

    /// <summary>Skip the update (gradients dropped), count it in <c>skipped_steps</c>, continue.</summary>
    Skip,
}

/// <summary>A non-finite loss or gradient under <see cref="NonFinitePolicy.Stop"/>.</summary>
public sealed class NonFiniteException(string message) : Exception(message);

/// <summary>Gradient checks and clipping over a parameter list.</summary>
public static class Gradients
{
    /// <summary>
    /// The first parameter (in module order) whose gradient holds a non-finite value, with the
    /// element index and the value; null when every gradient is finite.
    /// </summary>
    public static (string Name, int Index, float Value)? FirstNonFinite(
        IEnumerable<(string Name, Tensor Tensor)> parameters
    )
    {
        foreach (var (name, p) in parameters)
        {
            if (p.Grad is null)
                continue;
            var g = p.Grad.Span();
            int i = OptimizerMath.FirstNonFinite(g);
            if (i >= 0)
                return (name, i, g[i]);
        }
        return null;
    }

    /// <summary>The global L2 norm of all gradients, ‖g‖ = √Σ g².</summary>
    public static double GlobalNorm(IEnumerable<(string Name, Tensor Tensor)> parameters)
    {
        double s = 0;
        foreach (var (_, p) in parameters)
        {
            if (p.Grad is not null)
                s += OptimizerMath.SumOfSquares(p.Grad.Span());
        }
        return Math.Sqrt(s);
    }

    /// <summary>
    /// Scales every gradient by <c>min(1, maxNorm / (‖g‖ + 1e-6))</c> (PyTorch's
    /// <c>clip_grad_norm_</c>) and returns the norm before clipping.
    /// </summary>
    public static double ClipByNorm(
        IEnumerable<(string Name, Tensor Tensor)> parameters,
        double maxNorm
    )
    {
        if (!(maxNorm > 0) || !double.IsFinite(maxNorm))
            throw new ArgumentOutOfRangeException(
                nameof(maxNorm),
                maxNorm,
                $"clip-grad: max norm must be > 0, got {maxNorm}"
            );
        var list = parameters as IReadOnlyList<(string, Tensor)> ?? parameters.ToList();
        double norm = GlobalNorm(list);
        double scale = maxNorm / (norm + 1e-6);
        if (scale < 1)
        {
            using var noGrad = GradMode.NoGrad();
            foreach (var (_, p) in list)
                p.Grad?.Mul_((float)scale);
        }
        return norm;
    }
}
