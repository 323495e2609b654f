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

    /// <summary>Handle returned by <see cref="NoGrad"/>.</summary>
    public readonly struct NoGradScope : IDisposable
    {
        public void Dispose() => t_disabled--;
    }
}
