namespace SpikeEngine;

/// <summary>
/// Observes the nodes recorded on this thread while active: the memory report sums what each
/// node saves for backward. Each node is tagged with the innermost owner entered with
/// <see cref="Enter"/> (layers enter themselves, so the report can name the layer).
/// </summary>
public sealed class GraphRecorder : IDisposable
{
    [ThreadStatic]
    private static GraphRecorder? t_active;

    [ThreadStatic]
    private static object? t_owner;

    private readonly GraphRecorder? _outer;
    private readonly List<Node> _nodes = [];
    private readonly List<object?> _owners = [];

    private GraphRecorder()
    {
        _outer = t_active;
        t_active = this;
    }

    /// <summary>Starts observing on this thread.</summary>
    public static GraphRecorder Start() => new();

    /// <summary>Nodes recorded since <see cref="Start"/>, in order.</summary>
    public IReadOnlyList<Node> Nodes => _nodes;

    /// <summary>The owner (innermost <see cref="Enter"/>) active when each node was recorded; null outside any.</summary>
    public IReadOnlyList<object?> Owners => _owners;

    /// <summary>
    /// Marks the nodes recorded on this thread until the returned handle is disposed as belonging to
    /// <paramref name="owner"/> (a layer, typically). Cheap when nothing records.
    /// </summary>
    public static OwnerScope Enter(object owner)
    {
        var previous = t_owner;
        t_owner = owner;
        return new OwnerScope(previous);
    }

    internal static void Observe(Node node)
    {
        var r = t_active;
        if (r is null)
            return;
        r._nodes.Add(node);
        r._owners.Add(t_owner);
    }

    public void Dispose()
    {
        if (t_active == this)
            t_active = _outer;
    }

    /// <summary>Handle returned by <see cref="Enter"/>: restores the previous owner.</summary>
    public readonly struct OwnerScope(object? previous) : IDisposable
    {
        public void Dispose() => t_owner = previous;
    }
}
