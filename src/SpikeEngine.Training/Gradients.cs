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

/// <summary>
/// Gradient checks and clipping over a parameter list, as backend primitives on the device the
/// gradients live on (<see cref="IBackend.FindNonFinite"/>, <see cref="IBackend.SumOfSquares"/>,
/// <see cref="IBackend.ScaleInPlace"/>): only the result comes back to the host.
/// </summary>
public static class Gradients
{
    /// <summary>
    /// The first parameter (in module order) whose gradient holds a non-finite value, with the
    /// element index and the value; null when every gradient is finite.
    /// </summary>
    public static (string Name, long Index, float Value)? FirstNonFinite(
        IEnumerable<(string Name, Tensor Tensor)> parameters
    )
    {
        foreach (var (backend, group) in GroupByDevice(parameters))
        {
            if (backend.FindNonFinite([.. group.Select(g => g.Grad)]) is { } bad)
                return (group[bad.Tensor].Name, bad.Index, bad.Value);
        }
        return null;
    }

    /// <summary>The global L2 norm of all gradients, ‖g‖ = √Σ g² (Σ in float64).</summary>
    public static double GlobalNorm(IEnumerable<(string Name, Tensor Tensor)> parameters)
    {
        double s = 0;
        foreach (var (backend, group) in GroupByDevice(parameters))
            s += backend.SumOfSquares([.. group.Select(g => g.Grad)]);
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
        var groups = GroupByDevice(parameters);
        double sum = 0;
        foreach (var (backend, group) in groups)
            sum += backend.SumOfSquares([.. group.Select(g => g.Grad)]);
        double norm = Math.Sqrt(sum);
        double scale = maxNorm / (norm + 1e-6);
        if (scale < 1)
        {
            foreach (var (backend, group) in groups)
                backend.ScaleInPlace([.. group.Select(g => g.Grad)], (float)scale);
        }
        return norm;
    }

    // The gradients (with their parameter's name) per device, in module order within a device;
    // a model lives on one device, so this is one group in practice.
    private static List<(IBackend Backend, List<(string Name, Tensor Grad)> Group)> GroupByDevice(
        IEnumerable<(string Name, Tensor Tensor)> parameters
    )
    {
        ArgumentNullException.ThrowIfNull(parameters);
        var groups = new List<(IBackend Backend, List<(string Name, Tensor Grad)> Group)>();
        foreach (var (name, p) in parameters)
        {
            if (p.Grad is not { } g)
                continue;
            var i = groups.FindIndex(x => x.Backend.Device == g.Device);
            if (i < 0)
            {
                groups.Add((Backends.For(g.Device), []));
                i = groups.Count - 1;
            }
            groups[i].Group.Add((name, g));
        }
        return groups;
    }
}
