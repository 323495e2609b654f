namespace SpikeEngine;

/// <summary>
/// Lifetime scope for tensors: every tensor created on this thread while the scope is innermost
/// is disposed with the scope, except those passed to <see cref="Keep"/>.
/// <code>using var scope = TensorScope.Begin(); ... return scope.Keep(loss);</code>
/// </summary>
public sealed class TensorScope : IDisposable
{
    [ThreadStatic]
    private static TensorScope? t_current;

    private readonly List<Tensor> _owned = [];
    private readonly TensorScope? _parent;
    private bool _disposed;

    private TensorScope(TensorScope? parent) => _parent = parent;

    /// <summary>Opens a scope nested in the current one.</summary>
    public static TensorScope Begin() => t_current = new TensorScope(t_current);

    /// <summary>The innermost open scope of this thread, if any.</summary>
    public static TensorScope? Current => t_current;

    /// <summary>Number of tensors this scope will dispose.</summary>
    public int Count => _owned.Count(t => t.Scope == this && !t.IsDisposed);

    internal static void Register(Tensor t)
    {
        var s = t_current;
        if (s is null)
            return;
        t.Scope = s;
        s._owned.Add(t);
    }

    /// <summary>Moves <paramref name="tensor"/> to the enclosing scope (or out of scopes) and returns it.</summary>
    public Tensor Keep(Tensor tensor)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        Detach(tensor);
        if (_parent is not null)
        {
            tensor.Scope = _parent;
            _parent._owned.Add(tensor);
        }
        return tensor;
    }

    /// <summary>Removes <paramref name="tensor"/> from every scope: its owner disposes it.</summary>
    public static Tensor Unscoped(Tensor tensor)
    {
        Detach(tensor);
        return tensor;
    }

    private static void Detach(Tensor tensor) => tensor.Scope = null;

    public void Dispose()
    {
        if (_disposed)
            return;
        _disposed = true;
        foreach (var t in _owned)
        {
            if (t.Scope == this)
            {
                t.Scope = null;
                t.Dispose();
            }
        }
        _owned.Clear();
        if (t_current == this)
            t_current = _parent;
    }
}
