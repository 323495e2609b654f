namespace SpikeEngine.Nir;

/// <summary>
/// Nested NIR graphs (a node of type <c>NIRGraph</c>, as snnTorch writes its recurrent
/// <c>RLeaky</c>/<c>RSynaptic</c> and Rockpool its modules) flattened into one graph: the node
/// <c>g</c>'s inner node <c>n</c> becomes <c>g.n</c>; the inner <c>Input</c> and <c>Output</c>
/// nodes become pass-through nodes. An edge endpoint names a node of its graph (<c>g</c>, which
/// means g's only Input as a target and g's only Output as a source) or, with dots, a node inside
/// a subgraph (<c>g.n</c>, <c>g.h.n</c>); a node whose own name contains dots is matched first.
/// </summary>
public static class NirFlatten
{
    /// <summary>Type of a subgraph's Input or Output node after flattening: passes its input on.</summary>
    public const string PassThrough = "NIRGraph.PassThrough";

    /// <summary>The graph with every nested graph inlined; <paramref name="graph"/> itself when it has none.</summary>
    public static NirGraph Flatten(NirGraph graph)
    {
        ArgumentNullException.ThrowIfNull(graph);
        if (graph.Nodes.All(n => n.Value.Subgraph is null))
            return graph;
        var flat = new NirGraph { Version = graph.Version };
        foreach (var (k, v) in graph.Metadata)
            flat.Metadata[k] = v;
        Inline(graph, "", flat, top: true);
        return flat;
    }

    private static void Inline(NirGraph graph, string prefix, NirGraph flat, bool top)
    {
        foreach (var (name, node) in graph.Nodes)
        {
            var full = prefix + name;
            if (node.Subgraph is { } sub)
            {
                Inline(sub, full + ".", flat, top: false);
                continue;
            }
            var copy = !top && node.Type is "Input" or "Output" ? new NirNode(PassThrough) : node;
            if (flat.Nodes.Any(n => n.Key == full))
                throw new NirFormatException(
                    $"NIR import: flattening nested graphs gives two nodes named '{full}'"
                );
            flat.Add(full, copy);
        }
        foreach (var (a, b) in graph.Edges)
            flat.Connect(
                prefix + Resolve(graph, a, source: true, (a, b)),
                prefix + Resolve(graph, b, source: false, (a, b))
            );
    }

    // The flattened name (relative to graph) of an edge endpoint.
    private static string Resolve(
        NirGraph graph,
        string endpoint,
        bool source,
        (string, string) edge
    )
    {
        var node = graph.Nodes.FirstOrDefault(n => n.Key == endpoint).Value;
        if (node is not null)
        {
            if (node.Subgraph is not { } sub)
                return endpoint;
            var kind = source ? "Output" : "Input";
            var ends = sub.Nodes.Where(n => n.Value.Type == kind).Select(n => n.Key).ToList();
            if (ends.Count != 1)
                throw new NirFormatException(
                    $"NIR import: edge ('{edge.Item1}', '{edge.Item2}') names the nested graph '{endpoint}', which has {ends.Count} {kind} nodes ({string.Join(", ", ends)}); name one as '{endpoint}.NODE'"
                );
            return endpoint + "." + ends[0];
        }
        for (int dot = endpoint.IndexOf('.'); dot > 0; dot = endpoint.IndexOf('.', dot + 1))
        {
            var head = endpoint[..dot];
            if (graph.Nodes.FirstOrDefault(n => n.Key == head).Value?.Subgraph is { } inner)
                return head + "." + Resolve(inner, endpoint[(dot + 1)..], source, edge);
        }
        throw new NirFormatException(
            $"NIR import: edge ('{edge.Item1}', '{edge.Item2}') names '{endpoint}', which is neither a node nor a node of a nested graph (nodes: {string.Join(", ", graph.Nodes.Select(n => n.Key))})"
        );
    }
}
