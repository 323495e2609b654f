using PureHDF;
using PureHDF.Filters;
using PureHDF.VOL.Native;
using SpikeEngine.Training.Checkpoints;

namespace SpikeEngine.Nir;

/// <summary>
/// Reads and writes NIR graphs in the HDF5 layout of the NIR reference implementation
/// (<c>nir/serialization.py</c>): a <c>version</c> string at the root; the graph in the group
/// <c>node</c> with <c>type = "NIRGraph"</c>, a group <c>nodes</c> holding one group per node
/// (its <c>type</c> string and its arrays) and <c>edges</c>, an (E, 2) dataset of strings.
/// Reading accepts every layout written since format 0.1: no <c>version</c> (0.1), float32 or
/// float64 parameters, int32 or int64 integers, fixed- or variable-length strings, <c>type</c>
/// as a dataset or an attribute, and gzip-compressed datasets. Writing follows the reference:
/// variable-length UTF-8 strings, float32 arrays and int64 integers, arrays gzip-compressed.
/// HDF5 itself is PureHDF's.
/// </summary>
public static class NirFile
{
    /// <summary>The format version this engine writes.</summary>
    public const string FormatVersion = "1.0.7";

    /// <summary>Reads the graph in <paramref name="path"/>.</summary>
    public static NirGraph Read(string path)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"NIR file '{path}' does not exist", path);
        try
        {
            using var file = H5File.OpenRead(path);
            if (!file.LinkExists("node"))
                throw new NirFormatException(
                    $"{path}: no group 'node' at the root (a NIR file holds its graph there)"
                );
            var graph = ReadGraph(path, file.Group("node"), "node");
            if (file.LinkExists("version"))
                graph.Version = ReadString(file.Dataset("version"));
            else if (file.AttributeExists("version"))
                graph.Version = ReadString(file.Attribute("version"));
            return graph;
        }
        catch (NirFormatException)
        {
            throw;
        }
        catch (Exception e) when (e is not FileNotFoundException)
        {
            throw new NirFormatException($"{path}: not a readable NIR/HDF5 file: {e.Message}", e);
        }
    }

    private static NirGraph ReadGraph(string path, IH5Group group, string where)
    {
        var type = ReadType(path, group, where);
        if (type != "NIRGraph")
            throw new NirFormatException(
                $"{path}: '{where}' has type '{type}', expected 'NIRGraph'"
            );
        var graph = new NirGraph();
        if (!group.LinkExists("nodes"))
            throw new NirFormatException($"{path}: '{where}' has no 'nodes' group");
        foreach (var child in group.Group("nodes").Children())
        {
            if (child is not IH5Group g)
                throw new NirFormatException(
                    $"{path}: '{where}/nodes/{child.Name}' is not a group (every node is a group)"
                );
            graph.Add(child.Name, ReadNode(path, g, $"{where}/nodes/{child.Name}"));
        }
        if (group.LinkExists("edges"))
        {
            var ds = group.Dataset("edges");
            var dims = ds.Space.Dimensions;
            if (ds.Type.Class is not (H5DataTypeClass.String or H5DataTypeClass.VariableLength))
                throw new NirFormatException(
                    $"{path}: '{where}/edges' holds {ds.Type.Class}, expected strings"
                );
            var flat =
                dims.Length == 0 || dims.Aggregate(1UL, (a, b) => a * b) > 0
                    ? ds.Read<string[]>()
                    : [];
            if (flat.Length % 2 != 0 || (dims.Length >= 1 && dims[^1] != 2 && flat.Length > 0))
                throw new NirFormatException(
                    $"{path}: '{where}/edges' has shape ({string.Join(", ", dims)}), expected (E, 2)"
                );
            for (int i = 0; i < flat.Length; i += 2)
                graph.Connect(flat[i], flat[i + 1]);
        }
        if (group.LinkExists("metadata"))
            ReadMetadata(path, group.Group("metadata"), graph.Metadata, $"{where}/metadata");
        return graph;
    }

    private static NirNode ReadNode(string path, IH5Group group, string where)
    {
        var type = ReadType(path, group, where);
        if (type == "NIRGraph")
        {
            var sub = ReadGraph(path, group, where);
            return new NirNode(type) { Subgraph = sub };
        }
        var node = new NirNode(type);
        foreach (var child in group.Children())
        {
            if (child.Name == "type")
                continue;
            if (child is IH5Group g)
            {
                if (child.Name == "metadata")
                    ReadMetadata(path, g, node.Metadata, $"{where}/metadata");
                else if (
                    child.Name is "input_type" or "output_type"
                    && g.Children().OfType<IH5Dataset>().ToList() is [var only]
                    && !IsString(only.Type)
                )
                    // a type dict written as a group ({"input": shape}) instead of its one array
                    node.Arrays[child.Name] = ReadArray(
                        path,
                        only,
                        $"{where}/{child.Name}/{only.Name}"
                    );
                continue; // other nested groups carry nothing a node of this engine reads
            }
            if (child is not IH5Dataset ds)
                continue;
            if (IsString(ds.Type))
                node.Strings[child.Name] = ReadString(ds);
            else
                node.Arrays[child.Name] = ReadArray(path, ds, $"{where}/{child.Name}");
        }
        return node;
    }

    private static void ReadMetadata(
        string path,
        IH5Group group,
        SortedDictionary<string, object> into,
        string where
    )
    {
        foreach (var child in group.Children())
        {
            if (child is not IH5Dataset ds)
                continue;
            into[child.Name] = IsString(ds.Type)
                ? ReadString(ds)
                : ReadArray(path, ds, $"{where}/{child.Name}");
        }
    }

    private static string ReadType(string path, IH5Group group, string where)
    {
        if (group.LinkExists("type"))
            return ReadString(group.Dataset("type"));
        if (group.AttributeExists("type"))
            return ReadString(group.Attribute("type"));
        throw new NirFormatException(
            $"{path}: '{where}' has no 'type' (every NIR node names its type)"
        );
    }

    private static bool IsString(IH5DataType t) =>
        // NIR files hold no numeric variable-length data: a variable-length type is a string.
        t.Class
            is H5DataTypeClass.String
                or H5DataTypeClass.VariableLength;

    private static string ReadString(IH5Dataset ds)
    {
        var all = ds.Read<string[]>();
        return all.Length > 0 ? all[0].TrimEnd('\0') : "";
    }

    private static string ReadString(IH5Attribute a)
    {
        var all = a.Read<string[]>();
        return all.Length > 0 ? all[0].TrimEnd('\0') : "";
    }

    private static NirArray ReadArray(string path, IH5Dataset ds, string where)
    {
        var dims = ds.Space.Dimensions;
        var shape = dims.Select(d =>
                d <= int.MaxValue
                    ? (int)d
                    : throw new NirFormatException($"{path}: '{where}' dimension {d} is too large")
            )
            .ToArray();
        var t = ds.Type;
        double[] data;
        bool integer;
        switch (t.Class)
        {
            case H5DataTypeClass.FloatingPoint when t.Size == 4:
                data = [.. ds.Read<float[]>().Select(v => (double)v)];
                integer = false;
                break;
            case H5DataTypeClass.FloatingPoint when t.Size == 8:
                data = ds.Read<double[]>();
                integer = false;
                break;
            case H5DataTypeClass.FixedPoint:
                data = t.Size switch
                {
                    1 => [.. ds.Read<sbyte[]>().Select(v => (double)v)],
                    2 => [.. ds.Read<short[]>().Select(v => (double)v)],
                    4 => [.. ds.Read<int[]>().Select(v => (double)v)],
                    8 => [.. ds.Read<long[]>().Select(v => (double)v)],
                    _ => throw new NirFormatException(
                        $"{path}: '{where}' is a {t.Size}-byte integer, expected 1, 2, 4 or 8 bytes"
                    ),
                };
                integer = true;
                break;
            case H5DataTypeClass.Enumerated when t.Size == 1: // h5py's bool
                data = [.. ds.Read<byte[]>().Select(v => (double)v)];
                integer = true;
                break;
            default:
                throw new NirFormatException(
                    $"{path}: '{where}' holds {t.Class} ({t.Size} bytes), expected numbers or a string"
                );
        }
        long expected = shape.Aggregate(1L, (a, b) => a * b);
        if (data.Length != expected)
            throw new NirFormatException(
                $"{path}: '{where}' has {data.Length} values for shape ({string.Join(", ", shape)})"
            );
        return new NirArray(shape, data, integer);
    }

    /// <summary>Writes <paramref name="graph"/> to <paramref name="path"/> atomically (a temporary file, then a rename).</summary>
    public static void Write(string path, NirGraph graph)
    {
        var file = new H5File
        {
            ["version"] = graph.Version ?? FormatVersion,
            ["node"] = GraphGroup(graph),
        };
        using var stream = new MemoryStream();
        file.Write(stream);
        AtomicFile.Write(path, stream.ToArray());
    }

    private static H5Group GraphGroup(NirGraph graph)
    {
        var nodes = new H5Group();
        foreach (var (name, node) in graph.Nodes)
            nodes[name] = node.Subgraph is { } sub ? GraphGroup(sub) : NodeGroup(node);
        var edges = new string[graph.Edges.Count, 2];
        for (int i = 0; i < graph.Edges.Count; i++)
        {
            edges[i, 0] = graph.Edges[i].Source;
            edges[i, 1] = graph.Edges[i].Target;
        }
        var g = new H5Group
        {
            ["type"] = "NIRGraph",
            ["nodes"] = nodes,
            ["edges"] = edges,
        };
        if (graph.Metadata.Count > 0)
            g["metadata"] = MetadataGroup(graph.Metadata);
        return g;
    }

    private static H5Group NodeGroup(NirNode node)
    {
        var g = new H5Group { ["type"] = node.Type };
        foreach (var (k, v) in node.Strings)
            g[k] = v;
        foreach (var (k, a) in node.Arrays)
            g[k] = Dataset(a);
        if (node.Metadata.Count > 0)
            g["metadata"] = MetadataGroup(node.Metadata);
        return g;
    }

    private static H5Group MetadataGroup(SortedDictionary<string, object> metadata)
    {
        var g = new H5Group();
        foreach (var (k, v) in metadata)
            g[k] = v switch
            {
                string s => s,
                NirArray a => Dataset(a),
                double d => Dataset(new NirArray([], [d], false)),
                _ => throw new ArgumentException(
                    $"NIR metadata '{k}': {v.GetType().Name} is neither a string nor an array"
                ),
            };
        return g;
    }

    private static object Dataset(NirArray a)
    {
        var dims = a.Shape.Select(d => (ulong)d).ToArray();
        object data = a.IsInteger
            ? a.Data.Select(v => (long)v).ToArray()
            : a.Data.Select(v => (float)v).ToArray();
        if (a.Shape.Length == 0 || a.Count == 0)
            return new H5Dataset(data, fileDims: dims);
        // gzip like the reference writer; one chunk holds the whole array.
        return new H5Dataset(
            data,
            chunks: [.. a.Shape.Select(d => (uint)d)],
            fileDims: dims,
            datasetCreation: new H5DatasetCreation(Filters: [new H5Filter(DeflateFilter.Id)])
        );
    }
}
