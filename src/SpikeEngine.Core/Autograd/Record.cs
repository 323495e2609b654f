namespace SpikeEngine;

/// <summary>Attaches recorded nodes to op outputs.</summary>
public static class Autograd
{
    /// <summary>Makes <paramref name="node"/> the producer of <paramref name="output"/> and returns it.</summary>
    public static Tensor Record(Tensor output, Node node)
    {
        output.GradFn = node;
        output.OutputIndex = 0;
        output.MarkRequiresGrad();
        GraphRecorder.Observe(node);
        return output;
    }

    /// <summary>Makes <paramref name="node"/> the producer of each of <paramref name="outputs"/> (by position).</summary>
    public static void Record(ReadOnlySpan<Tensor> outputs, Node node)
    {
        for (var i = 0; i < outputs.Length; i++)
        {
            outputs[i].GradFn = node;
            outputs[i].OutputIndex = i;
            outputs[i].MarkRequiresGrad();
        }
        GraphRecorder.Observe(node);
    }

    /// <summary>True when an op over <paramref name="inputs"/> must record a node.</summary>
    public static bool IsNeeded(params Tensor?[] inputs) => Node.NeedsGrad(inputs);
}

/// <summary>
/// Observes the nodes recorded on this thread while active: the memory report sums what each
/// node saves for backward.
/// </summary>
public sealed class GraphRecorder : IDisposable
{
    [ThreadStatic]
    private static GraphRecorder? t_active;

    private readonly GraphRecorder? _outer;
    private readonly List<Node> _nodes = [];

    private GraphRecorder()
    {
        _outer = t_active;
        t_active = this;
    }

    /// <summary>Starts observing on this thread.</summary>
    public static GraphRecorder Start() => new();

    /// <summary>Nodes recorded since <see cref="Start"/>, in order.</summary>
    public IReadOnlyList<Node> Nodes => _nodes;

    internal static void Observe(Node node) => t_active?._nodes.Add(node);

    public void Dispose()
    {
        if (t_active == this)
            t_active = _outer;
    }
}
