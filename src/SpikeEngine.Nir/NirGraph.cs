namespace SpikeEngine.Nir;

/// <summary>
/// One array of a NIR node (a weight, a time constant, a stride): its shape and its values.
/// Values are held as float64, which represents every float32 and every integer a NIR file
/// stores exactly enough to write it back unchanged; <see cref="IsInteger"/> records whether the
/// file stored integers (written back as int64) or floats (written back as float32).
/// </summary>
public sealed record NirArray(int[] Shape, double[] Data, bool IsInteger)
{
    /// <summary>A float array of the given shape.</summary>
    public static NirArray Float(float[] data, params int[] shape) =>
        new(shape, [.. data.Select(v => (double)v)], false);

    /// <summary>An int64 array; <c>shape</c> [] is a scalar.</summary>
    public static NirArray Int(long[] data, params int[] shape) =>
        new(shape, [.. data.Select(v => (double)v)], true);

    /// <summary>An int64 scalar (dataspace SCALAR).</summary>
    public static NirArray IntScalar(long value) => new([], [value], true);

    /// <summary>Number of elements (1 for a scalar).</summary>
    public int Count => Data.Length;

    /// <summary>The values as float32.</summary>
    public float[] ToFloats() => [.. Data.Select(v => (float)v)];

    /// <summary>The values as int32 (throws naming <paramref name="what"/> when a value is not an integer).</summary>
    public int[] ToInts(string what) =>
        [
            .. Data.Select(v =>
                v == Math.Floor(v) && v >= int.MinValue && v <= int.MaxValue
                    ? (int)v
                    : throw new NirFormatException($"{what}: expected integers, got {v}")
            ),
        ];

    public override string ToString() =>
        $"[{string.Join(", ", Shape)}] {(IsInteger ? "int64" : "float")}";
}

/// <summary>
/// One node of a NIR graph: its <see cref="Type"/> (<c>LIF</c>, <c>Conv2d</c>, ...) and its
/// named arrays and strings exactly as the file holds them (<c>weight</c>, <c>tau</c>,
/// <c>padding = "same"</c>), plus the optional <c>metadata</c> group.
/// </summary>
public sealed class NirNode(string type)
{
    public string Type { get; } = type;

    /// <summary>Numeric datasets of the node group, by name.</summary>
    public SortedDictionary<string, NirArray> Arrays { get; } = new(StringComparer.Ordinal);

    /// <summary>String datasets other than <c>type</c> (e.g. Conv2d <c>padding = "same"</c>).</summary>
    public SortedDictionary<string, string> Strings { get; } = new(StringComparer.Ordinal);

    /// <summary>The node's <c>metadata</c> group (string and numeric entries), empty when absent.</summary>
    public SortedDictionary<string, object> Metadata { get; } = new(StringComparer.Ordinal);

    /// <summary>A nested graph when <see cref="Type"/> is <c>NIRGraph</c>.</summary>
    public NirGraph? Subgraph { get; init; }

    /// <summary>Adds an array; returns this node.</summary>
    public NirNode With(string name, NirArray array)
    {
        Arrays[name] = array;
        return this;
    }

    /// <summary>The array <paramref name="name"/>; throws naming the node when absent.</summary>
    public NirArray Require(string node, string name) =>
        Arrays.TryGetValue(name, out var a)
            ? a
            : throw new NirFormatException(
                $"node '{node}' ({Type}) has no '{name}' array (it has: {string.Join(", ", Arrays.Keys)})"
            );
}

/// <summary>
/// A NIR graph (Neuromorphic Intermediate Representation, <c>neuromorphs/NIR</c>): named nodes
/// and directed edges between node names. A node with several incoming edges receives the sum
/// of its inputs. <see cref="NirFile"/> reads and writes the HDF5 layout of the reference
/// implementation.
/// </summary>
public sealed class NirGraph
{
    /// <summary>The format version string of the file (<c>version</c> at the root); null when absent (files of version 0.1).</summary>
    public string? Version { get; set; }

    /// <summary>Nodes by name, in file order.</summary>
    public List<KeyValuePair<string, NirNode>> Nodes { get; } = [];

    /// <summary>Edges (source, target).</summary>
    public List<(string Source, string Target)> Edges { get; } = [];

    /// <summary>The graph's <c>metadata</c> group (this engine records <c>dt</c> there on export).</summary>
    public SortedDictionary<string, object> Metadata { get; } = new(StringComparer.Ordinal);

    /// <summary>Adds a node; throws when the name is taken.</summary>
    public NirNode Add(string name, NirNode node)
    {
        if (Nodes.Any(n => n.Key == name))
            throw new ArgumentException($"NIR graph: node '{name}' is added twice", nameof(name));
        Nodes.Add(new(name, node));
        return node;
    }

    /// <summary>Adds the edge <paramref name="source"/> → <paramref name="target"/>.</summary>
    public void Connect(string source, string target) => Edges.Add((source, target));

    /// <summary>The node named <paramref name="name"/>.</summary>
    public NirNode this[string name] =>
        Nodes.FirstOrDefault(n => n.Key == name).Value
        ?? throw new KeyNotFoundException($"NIR graph has no node '{name}'");
}

/// <summary>A NIR file or graph that cannot be read or mapped, with what was expected.</summary>
public sealed class NirFormatException(string message, Exception? inner = null)
    : Exception(message, inner);
