using PureHDF;

namespace SpikeEngine.Nir.Tests;

public sealed class ForeignGraphTests
{
    // Input (2, 6, 6) → Conv2d 3×3 pad 1 (3 channels, float64 weights) → LIF → SumPool2d 2
    // → IF → Flatten → Affine (2, 27) → Output, written as other frameworks write it (no
    // metadata, parameters shaped like the layer, type as a string dataset).
    private static (string Path, double[] Conv, double[] ConvBias, float[] Fc) Write(string dir)
    {
        var rng = new Random(4);
        var conv = Enumerable.Range(0, 3 * 2 * 9).Select(_ => rng.NextDouble() - 0.3).ToArray();
        var convBias = new[] { 0.1, -0.05, 0.2 };
        var fc = Enumerable.Range(0, 2 * 27).Select(_ => (float)(rng.NextDouble() - 0.5)).ToArray();
        var path = Path.Combine(dir, "foreign.nir");
        ForeignNir.Write(
            path,
            "1.0.4",
            new H5Group
            {
                ["input"] = new H5Group
                {
                    ["type"] = "Input",
                    ["shape"] = ForeignNir.Longs(2, 6, 6),
                },
                ["conv"] = new H5Group
                {
                    ["type"] = "Conv2d",
                    ["weight"] = ForeignNir.Array(conv, 3, 2, 3, 3),
                    ["bias"] = ForeignNir.Array(convBias, 3),
                    ["stride"] = ForeignNir.Longs(1, 1),
                    ["padding"] = ForeignNir.Longs(1, 1),
                    ["dilation"] = ForeignNir.Longs(1, 1),
                    ["groups"] = 1L,
                    ["input_shape"] = ForeignNir.Longs(6, 6),
                },
                ["lif"] = new H5Group
                {
                    ["type"] = "LIF",
                    ["tau"] = ForeignNir.Array(ForeignNir.Fill(108, 0.004f), 3, 6, 6),
                    ["r"] = ForeignNir.Array(ForeignNir.Fill(108, 1f), 3, 6, 6),
                    ["v_leak"] = ForeignNir.Array(ForeignNir.Fill(108, 0f), 3, 6, 6),
                    ["v_threshold"] = ForeignNir.Array(ForeignNir.Fill(108, 0.5f), 3, 6, 6),
                    ["v_reset"] = ForeignNir.Array(ForeignNir.Fill(108, 0f), 3, 6, 6),
                },
                ["pool"] = new H5Group
                {
                    ["type"] = "SumPool2d",
                    ["kernel_size"] = ForeignNir.Longs(2, 2),
                    ["stride"] = ForeignNir.Longs(2, 2),
                    ["padding"] = ForeignNir.Longs(0, 0),
                },
                ["if"] = new H5Group
                {
                    ["type"] = "IF",
                    ["r"] = ForeignNir.Array(ForeignNir.Fill(27, 1000f), 3, 3, 3),
                    ["v_threshold"] = ForeignNir.Array(ForeignNir.Fill(27, 1.5f), 3, 3, 3),
                },
                ["flat"] = new H5Group
                {
                    ["type"] = "Flatten",
                    ["start_dim"] = 0L,
                    ["end_dim"] = -1L,
                    ["input_type"] = ForeignNir.Longs(3, 3, 3),
                },
                ["fc"] = new H5Group
                {
                    ["type"] = "Affine",
                    ["weight"] = ForeignNir.Array(fc, 2, 27),
                    ["bias"] = ForeignNir.Array(new[] { 0.5f, -0.5f }, 2),
                },
                ["output"] = new H5Group { ["type"] = "Output", ["shape"] = ForeignNir.Longs(2) },
            },
            // edges out of order, as Sinabs writes them
            new[,]
            {
                { "flat", "fc" },
                { "input", "conv" },
                { "if", "flat" },
                { "lif", "pool" },
                { "fc", "output" },
                { "conv", "lif" },
                { "pool", "if" },
            }
        );
        return (path, conv, convBias, fc);
    }

    [Fact]
    public void ForeignGraphImportsAndRunsLikeAHandWrittenSimulation()
    {
        var dir = Temp.Dir();
        var (path, conv, convBias, fc) = Write(dir);
        const double dt = 0.001;
        const int T = 5;
        var rng = new Random(8);
        var x = Enumerable.Range(0, T * 72).Select(_ => rng.NextDouble() < 0.5 ? 1f : 0f).ToArray();

        using var model = new NirModel(NirFile.Read(path), dt);
        model.Eval();
        using var scope = TensorScope.Begin();
        var y = model.Forward(Tensor.FromArray(x, [T, 1, 2, 6, 6])).ToArray();

        // Independent float64 simulation of the same equations (forward Euler, fire on v ≥ θ, reset to 0).
        var vLif = new double[108];
        var vIf = new double[27];
        var expected = new double[T * 2];
        int spikesLif = 0;
        for (int t = 0; t < T; t++)
        {
            var c = new double[108];
            for (int o = 0; o < 3; o++)
            for (int i = 0; i < 6; i++)
            for (int j = 0; j < 6; j++)
            {
                double s = convBias[o];
                for (int ci = 0; ci < 2; ci++)
                for (int di = 0; di < 3; di++)
                for (int dj = 0; dj < 3; dj++)
                {
                    int ii = i + di - 1,
                        jj = j + dj - 1;
                    if (ii is >= 0 and < 6 && jj is >= 0 and < 6)
                        s +=
                            conv[((o * 2 + ci) * 3 + di) * 3 + dj]
                            * x[t * 72 + ci * 36 + ii * 6 + jj];
                }
                c[o * 36 + i * 6 + j] = s;
            }
            var lifOut = new double[108];
            for (int m = 0; m < 108; m++)
            {
                vLif[m] += dt / 0.004 * (0 - vLif[m] + c[m]);
                if (vLif[m] >= 0.5)
                {
                    lifOut[m] = 1;
                    vLif[m] = 0;
                    spikesLif++;
                }
            }
            var pooled = new double[27];
            for (int o = 0; o < 3; o++)
            for (int i = 0; i < 3; i++)
            for (int j = 0; j < 3; j++)
                pooled[o * 9 + i * 3 + j] =
                    lifOut[o * 36 + 2 * i * 6 + 2 * j]
                    + lifOut[o * 36 + 2 * i * 6 + 2 * j + 1]
                    + lifOut[o * 36 + (2 * i + 1) * 6 + 2 * j]
                    + lifOut[o * 36 + (2 * i + 1) * 6 + 2 * j + 1];
            var ifOut = new double[27];
            for (int m = 0; m < 27; m++)
            {
                vIf[m] += dt * 1000 * pooled[m];
                if (vIf[m] >= 1.5)
                {
                    ifOut[m] = 1;
                    vIf[m] = 0;
                }
            }
            for (int k = 0; k < 2; k++)
            {
                double s = k == 0 ? 0.5 : -0.5;
                for (int m = 0; m < 27; m++)
                    s += fc[k * 27 + m] * ifOut[m];
                expected[t * 2 + k] = s;
            }
        }
        Assert.True(spikesLif > 10, $"the LIF layer should fire ({spikesLif} spikes)");
        Assert.Contains(expected, v => v != 0.5 && v != -0.5); // the IF layer fired too
        for (int i = 0; i < expected.Length; i++)
            Assert.True(
                Math.Abs(expected[i] - y[i]) < 1e-4,
                $"output {i}: expected {expected[i]}, got {y[i]}"
            );
    }

    [Fact]
    public void NonUniformNeuronParametersAreRefusedNamingTheNode()
    {
        var dir = Temp.Dir();
        var (path, _, _, _) = Write(dir);
        var graph = NirFile.Read(path);
        // Per-neuron values that differ run (step by step); an array of another size is refused.
        graph["lif"].Arrays["tau"].Data[7] = 0.005;
        using (var m = new NirModel(graph, 0.001))
            Assert.Equal([2], m.OutputShape());
        graph["lif"].Arrays["tau"] = NirArray.Float([0.004f, 0.005f], 2);
        var e = Assert.Throws<NirFormatException>(() => new NirModel(graph, 0.001));
        Assert.Contains(
            "node 'lif' (LIF) 'tau' has shape (2) (2 values) but the layer has 108 neurons",
            e.Message
        );
        graph = NirFile.Read(path);
        graph.Add("cuba", new NirNode("CubaLIF"));
        graph.Connect("fc", "cuba");
        e = Assert.Throws<NirFormatException>(() => new NirModel(graph, 0.001));
        Assert.Contains("node 'cuba' (CubaLIF) has no 'r'", e.Message);
        graph = NirFile.Read(path);
        graph.Add("odd", new NirNode("Spiky"));
        graph.Connect("fc", "odd");
        e = Assert.Throws<NirFormatException>(() => new NirModel(graph, 0.001));
        Assert.Contains("node 'odd' has type 'Spiky'", e.Message);
        // A recurrent edge must carry what its target receives.
        graph = NirFile.Read(path);
        graph.Connect("if", "conv");
        e = Assert.Throws<NirFormatException>(() => new NirModel(graph, 0.001));
        Assert.Contains(
            "recurrent edge ('if', 'conv') carries (3, 3, 3) into a node that receives (2, 6, 6)",
            e.Message
        );
    }

    [Fact]
    public void VersionZeroOneLayoutAndCorruptFilesAreHandled()
    {
        var dir = Temp.Dir();
        var path = Path.Combine(dir, "old.nir");
        // Format 0.1: no version dataset; float64 parameters.
        ForeignNir.Write(
            path,
            null,
            new H5Group
            {
                ["in"] = new H5Group { ["type"] = "Input", ["shape"] = ForeignNir.Longs(1) },
                ["lif"] = new H5Group
                {
                    ["type"] = "LIF",
                    ["tau"] = ForeignNir.Array(new[] { 0.01 }, 1),
                    ["r"] = ForeignNir.Array(new[] { 1.0 }, 1),
                    ["v_leak"] = ForeignNir.Array(new[] { 0.0 }, 1),
                    ["v_threshold"] = ForeignNir.Array(new[] { 1.0 }, 1),
                },
                ["out"] = new H5Group { ["type"] = "Output", ["shape"] = ForeignNir.Longs(1) },
            },
            new[,]
            {
                { "in", "lif" },
                { "lif", "out" },
            }
        );
        var g = NirFile.Read(path);
        Assert.Null(g.Version);
        Assert.Equal(0.01, g["lif"].Arrays["tau"].Data[0]);
        using (var m = new NirModel(g, 0.001))
            Assert.Equal([1], m.OutputShape());

        // Type and version as attributes instead of datasets.
        var attrPath = Path.Combine(dir, "attr.nir");
        var nodes = new H5Group
        {
            ["in"] = new H5Group { ["shape"] = ForeignNir.Longs(1) },
            ["out"] = new H5Group { ["shape"] = ForeignNir.Longs(1) },
        };
        ((H5Group)nodes["in"]).Attributes = new Dictionary<string, object> { ["type"] = "Input" };
        ((H5Group)nodes["out"]).Attributes = new Dictionary<string, object> { ["type"] = "Output" };
        var root = new H5Group
        {
            ["nodes"] = nodes,
            ["edges"] = new[,]
            {
                { "in", "out" },
            },
        };
        root.Attributes = new Dictionary<string, object> { ["type"] = "NIRGraph" };
        var file = new H5File { ["node"] = root };
        file.Attributes = new Dictionary<string, object> { ["version"] = "0.2.0" };
        file.Write(attrPath);
        var attr = NirFile.Read(attrPath);
        Assert.Equal("0.2.0", attr.Version);
        Assert.Equal(["Input", "Output"], attr.Nodes.Select(n => n.Value.Type));
        Assert.Equal([("in", "out")], attr.Edges);

        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);
        var e = Assert.Throws<NirFormatException>(() => NirFile.Read(path));
        Assert.Contains(path, e.Message);
        File.WriteAllText(path, "not hdf5");
        Assert.Throws<NirFormatException>(() => NirFile.Read(path));
    }
}
