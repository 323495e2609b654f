namespace SpikeEngine;

/// <summary>
/// Turns graph recording off for the current thread while alive:
/// <c>using (GradMode.NoGrad()) { ... }</c>.
/// </summary>
public static class GradMode
{
    [ThreadStatic]
    private static int t_disabled;

    /// <summary>True when ops record autograd nodes on this thread.</summary>
    public static bool IsEnabled => t_disabled == 0;

    /// <summary>Disables recording until the returned handle is disposed.</summary>
    public static NoGradScope NoGrad()
    {
        t_disabled++;
        return new NoGradScope();
    }

    /// <summary>
    /// Turns recording back on until the returned handle is disposed, whatever the enclosing
    /// scopes say: an op's backward that replays part of the forward pass (recomputation) records
    /// that replay inside <see cref="Tensor.Backward"/>, which runs with recording off.
    /// </summary>
    public static EnableGradScope Enable()
    {
        var previous = t_disabled;
        t_disabled = 0;
        return new EnableGradScope(previous);
    }

    /// <summary>Handle returned by <see cref="Enable"/>: restores the previous state.</summary>
    public readonly struct EnableGradScope(int previous) : IDisposable
    {
        public void Dispose() => t_disabled = previous;
    }

    /// <summary>Handle returned by <see cref="NoGrad"/>.</summary>
    public readonly struct NoGradScope : IDisposable
    {
        public void Dispose() => t_disabled--;
    }
}
