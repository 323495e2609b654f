using PureHDF;
using SpikeEngine.Data;

namespace SpikeEngine.Nir.Tests;

internal static class Temp
{
    public static string Dir()
    {
        var d = Path.Combine(Path.GetTempPath(), "spike-nir-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(d);
        return d;
    }
}

internal static class Cli
{
    public static (int Code, string Out, string Err) Run(params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        int code = SpikeEngine.Cli.Spike.Run(args, o, e);
        return (code, o.ToString(), e.ToString());
    }

    /// <summary>
    /// <c>spike nir run GRAPH --dt DT --input DIR/in.csv --out DIR/out.csv --record-v</c>; asserts
    /// success and returns the output's header and rows.
    /// </summary>
    public static (string Header, double[][] Rows) NirRun(string graph, string dt, string dir)
    {
        var (code, _, err) = Run(
            "nir",
            "run",
            graph,
            "--dt",
            dt,
            "--input",
            Path.Combine(dir, "in.csv"),
            "--out",
            Path.Combine(dir, "out.csv"),
            "--record-v"
        );
        Assert.True(code == 0, err);
        var lines = File.ReadAllLines(Path.Combine(dir, "out.csv"));
        var rows = lines[1..]
            .Select(l =>
                l.Split(',')
                    .Select(c => double.Parse(c, System.Globalization.CultureInfo.InvariantCulture))
                    .ToArray()
            )
            .ToArray();
        return (lines[0], rows);
    }
}

/// <summary>
/// Writes NIR files group by group with PureHDF, independently of <see cref="NirFile"/>, in the
/// layout other frameworks produce (h5py through the NIR reference writer): string datasets for
/// <c>type</c>, an (E, 2) string dataset for edges, float32/float64 parameters, int64 integers.
/// </summary>
internal static class ForeignNir
{
    public static void Write(string path, string? version, H5Group nodes, string[,] edges)
    {
        var file = new H5File
        {
            ["node"] = new H5Group
            {
                ["type"] = "NIRGraph",
                ["nodes"] = nodes,
                ["edges"] = edges,
            },
        };
        if (version is not null)
            file["version"] = version;
        file.Write(path);
    }

    public static object Array(float[] data, params int[] shape) =>
        new H5Dataset(data, fileDims: [.. shape.Select(d => (ulong)d)]);

    public static object Array(double[] data, params int[] shape) =>
        new H5Dataset(data, fileDims: [.. shape.Select(d => (ulong)d)]);

    public static object Longs(params long[] data) => data;

    public static float[] Fill(int n, float v) => Enumerable.Repeat(v, n).ToArray();
}

internal static class Graphs
{
    /// <summary>Same nodes (names, types, arrays with shapes, integer-ness and float32 values) and edges, in order.</summary>
    public static void AssertSame(NirGraph expected, NirGraph actual)
    {
        Assert.Equal(expected.Nodes.Select(n => n.Key), actual.Nodes.Select(n => n.Key));
        Assert.Equal(expected.Edges, actual.Edges);
        foreach (var (name, node) in expected.Nodes)
        {
            var other = actual[name];
            Assert.Equal(node.Type, other.Type);
            Assert.Equal(node.Arrays.Keys, other.Arrays.Keys);
            foreach (var (k, a) in node.Arrays)
            {
                Assert.Equal(a.Shape, other.Arrays[k].Shape);
                Assert.Equal(a.IsInteger, other.Arrays[k].IsInteger);
                var b = other.Arrays[k].Data;
                Assert.Equal(a.Count, b.Length);
                int differ = Enumerable
                    .Range(0, a.Count)
                    .FirstOrDefault(i => (float)a.Data[i] != (float)b[i], -1);
                Assert.True(differ < 0, $"node '{name}' array '{k}': first difference at {differ}");
            }
        }
    }
}

/// <summary>28×28 images, 4 classes: a bright quadrant names the class.</summary>
internal sealed class QuadrantDataset(int count, int seed) : IDataset
{
    public int Count => count;
    public SampleShape Shape => new(1, 28, 28);
    public int NumClasses => 4;

    public int ReadSample(int index, Span<float> destination, ref SampleRandom random)
    {
        int label = (index * 7 + seed) % 4;
        var rng = new Random(index * 31 + seed);
        for (int y = 0; y < 28; y++)
        for (int x = 0; x < 28; x++)
        {
            int q = (y / 14) * 2 + x / 14;
            destination[y * 28 + x] = (q == label ? 1.2f : 0f) + (float)rng.NextDouble() * 0.8f;
        }
        return label;
    }
}
