using PureHDF;

namespace SpikeEngine.Nir.Tests;

/// <summary>
/// Graphs laid out the way the frameworks write NIR (the reference serializer's rules for each
/// format version), imported and run against a float64 simulation by hand.
/// </summary>
public sealed class FrameworkStyleTests
{
    private const double Dt = 1e-3;

    // snnTorch's recurrent RLeaky: a nested NIRGraph {input, lif, w_rec, output} with the cycle
    // lif → w_rec → lif, fed by an Affine of the parent graph. LIF parameters shaped (N,).
    private static string WriteRecurrent(
        string dir,
        double[] fc,
        double[] rec,
        string intoSubgraph,
        string fromSubgraph
    )
    {
        var path = Path.Combine(dir, "rleaky.nir");
        var sub = new H5Group
        {
            ["type"] = "NIRGraph",
            ["nodes"] = new H5Group
            {
                ["input"] = new H5Group { ["type"] = "Input", ["shape"] = ForeignNir.Longs(3) },
                ["lif"] = new H5Group
                {
                    ["type"] = "LIF",
                    ["tau"] = ForeignNir.Array(new[] { 0.004, 0.004, 0.004 }, 3),
                    ["r"] = ForeignNir.Array(new[] { 4.0, 4.0, 4.0 }, 3),
                    ["v_leak"] = ForeignNir.Array(new[] { 0.0, 0.0, 0.0 }, 3),
                    ["v_threshold"] = ForeignNir.Array(new[] { 1.0, 1.0, 1.0 }, 3),
                    ["v_reset"] = ForeignNir.Array(new[] { 0.0, 0.0, 0.0 }, 3),
                },
                ["w_rec"] = new H5Group
                {
                    ["type"] = "Linear",
                    ["weight"] = ForeignNir.Array(rec, 3, 3),
                },
                ["output"] = new H5Group { ["type"] = "Output", ["shape"] = ForeignNir.Longs(3) },
            },
            ["edges"] = new[,]
            {
                { "input", "lif" },
                { "lif", "w_rec" },
                { "w_rec", "lif" },
                { "lif", "output" },
            },
        };
        ForeignNir.Write(
            path,
            "1.0.4",
            new H5Group
            {
                ["input"] = new H5Group { ["type"] = "Input", ["shape"] = ForeignNir.Longs(2) },
                ["fc1"] = new H5Group
                {
                    ["type"] = "Affine",
                    ["weight"] = ForeignNir.Array(fc, 3, 2),
                    ["bias"] = ForeignNir.Array(new[] { 0.0, 0.1, -0.1 }, 3),
                },
                ["lif1"] = sub,
                ["output"] = new H5Group { ["type"] = "Output", ["shape"] = ForeignNir.Longs(3) },
            },
            new[,]
            {
                { "input", "fc1" },
                { "fc1", intoSubgraph },
                { fromSubgraph, "output" },
            }
        );
        return path;
    }

    [Theory]
    [InlineData("lif1", "lif1")] // edges naming the nested graph
    [InlineData("lif1.input", "lif1.output")] // edges naming its Input/Output with dots
    public void SnnTorchRecurrentSubgraphRunsWithOneStepFeedback(string into, string from)
    {
        var rng = new Random(3);
        var fc = Enumerable.Range(0, 6).Select(_ => rng.NextDouble() * 2 - 0.5).ToArray();
        var rec = Enumerable.Range(0, 9).Select(_ => rng.NextDouble() - 0.5).ToArray();
        var path = WriteRecurrent(Temp.Dir(), fc, rec, into, from);
        const int T = 16;
        var x = Enumerable.Range(0, T * 2).Select(_ => rng.NextDouble() < 0.6 ? 1f : 0f).ToArray();

        using var model = NirImport.Load(path, Dt);
        model.Eval();
        using var scope = TensorScope.Begin();
        var y = model.Forward(Tensor.FromArray(x, [T, 1, 2])).ToArray();

        // By hand: v ← v + dt/τ(−v + R(fc·x_t + b + W_rec·s_{t−1})), fire at v ≥ 1, reset to 0.
        double[] bias = [0.0, 0.1, -0.1];
        var v = new double[3];
        var s = new double[3];
        int spikes = 0,
            fedBack = 0;
        for (int t = 0; t < T; t++)
        {
            var next = new double[3];
            for (int j = 0; j < 3; j++)
            {
                double input = bias[j];
                for (int i = 0; i < 2; i++)
                    input += fc[j * 2 + i] * x[t * 2 + i];
                double feedback = 0;
                for (int i = 0; i < 3; i++)
                    feedback += rec[j * 3 + i] * s[i];
                if (feedback != 0)
                    fedBack++;
                v[j] += Dt / 0.004 * (-v[j] + 4 * (input + feedback));
                if (v[j] >= 1)
                {
                    next[j] = 1;
                    v[j] = 0;
                    spikes++;
                }
            }
            s = next;
            for (int j = 0; j < 3; j++)
                Assert.True(
                    Math.Abs(s[j] - y[t * 3 + j]) < 1e-6,
                    $"step {t} neuron {j}: expected {s[j]}, got {y[t * 3 + j]}"
                );
        }
        Assert.True(spikes >= 5 && fedBack >= 5, $"{spikes} spikes, {fedBack} fed back");

        // Streamed one step per call (spike nir run), the feedback carries between calls.
        model.ResetState();
        var rows = NirImport.Run(
            model,
            [.. Enumerable.Range(0, T).Select(t => x[(t * 2)..(t * 2 + 2)])],
            recordV: false
        );
        for (int t = 0; t < T; t++)
            Assert.Equal(y[(t * 3)..(t * 3 + 3)], rows[t][2..]);

        // Export writes the nested graph back, with the (here: changed) recurrent weights.
        var w = model.NamedParameters().Single(p => p.Name == "lif1_w_rec.weight").Tensor;
        var changed = Enumerable.Range(0, 9).Select(k => 0.1f * k).ToArray();
        w.CopyFrom(changed);
        var again = NirExport.Export(model, [2], Dt);
        var sub = again["lif1"].Subgraph!;
        Assert.Equal(["input", "lif", "output", "w_rec"], sub.Nodes.Select(n => n.Key).Order());
        Assert.Equal(4, sub.Edges.Count);
        Assert.Equal([3, 3], sub["w_rec"].Arrays["weight"].Shape);
        Assert.Equal(changed, sub["w_rec"].Arrays["weight"].ToFloats());
        Assert.Equal(fc.Select(v => (float)v), again["fc1"].Arrays["weight"].ToFloats());
    }

    [Fact]
    public void NorseStyleDottedNamesTypeDictsAndFlatNeuronArraysImport()
    {
        // Node names are module paths with dots; Input holds its shape as an 'input_type' group
        // ({"input": shape}); the LIF after a conv holds its parameters flat, shaped (C·H·W,).
        var path = Path.Combine(Temp.Dir(), "norse.nir");
        var w = new[] { 0.5, -0.25, 1.0, 0.75 };
        ForeignNir.Write(
            path,
            "0.2.0",
            new H5Group
            {
                ["input"] = new H5Group
                {
                    ["type"] = "Input",
                    ["input_type"] = new H5Group { ["input"] = ForeignNir.Longs(1, 2, 2) },
                },
                ["seq.0"] = new H5Group
                {
                    ["type"] = "Conv2d",
                    ["weight"] = ForeignNir.Array(w, 1, 1, 2, 2),
                    ["bias"] = ForeignNir.Array(new[] { 0.0 }, 1),
                    ["stride"] = ForeignNir.Longs(1, 1),
                    ["padding"] = ForeignNir.Longs(0, 0),
                    ["dilation"] = ForeignNir.Longs(1, 1),
                    ["groups"] = 1L,
                },
                ["seq.1"] = new H5Group
                {
                    ["type"] = "LIF",
                    ["tau"] = ForeignNir.Array(new[] { 0.002 }, 1),
                    ["r"] = ForeignNir.Array(new[] { 1.0 }, 1),
                    ["v_leak"] = ForeignNir.Array(new[] { 0.0 }, 1),
                    ["v_threshold"] = ForeignNir.Array(new[] { 0.6 }, 1),
                    ["v_reset"] = ForeignNir.Array(new[] { 0.0 }, 1),
                },
                ["output"] = new H5Group
                {
                    ["type"] = "Output",
                    ["output_type"] = new H5Group { ["output"] = ForeignNir.Longs(1, 1, 1) },
                },
            },
            new[,]
            {
                { "input", "seq.0" },
                { "seq.0", "seq.1" },
                { "seq.1", "output" },
            }
        );
        using var model = NirImport.Load(path, Dt);
        Assert.Equal([1, 2, 2], model.InputShape());
        float[] x = [1, 1, 1, 0];
        var rows = NirImport.Run(model, [x, x, x, x], recordV: true);
        // c = 0.5 − 0.25 + 1 = 1.25 per step; v ← v + 0.5(c − v): 0.625 ≥ 0.6 fires every step.
        foreach (var row in rows)
        {
            Assert.Equal(1f, row[4]);
            Assert.Equal(0f, row[5]);
        }
    }

    [Fact]
    public void RockpoolStyleVersionZeroOneCubaLifAndNestedLinearImport()
    {
        // Format 0.1 (no version), float64 parameters shaped (N,), and a nested graph
        // {input, w, output} reached through dotted edge names.
        var path = Path.Combine(Temp.Dir(), "rockpool.nir");
        double[] w = [1.5, -0.5, 0.25, 2.0];
        ForeignNir.Write(
            path,
            null,
            new H5Group
            {
                ["input"] = new H5Group { ["type"] = "Input", ["shape"] = ForeignNir.Longs(2) },
                ["0_LinearTorch"] = new H5Group
                {
                    ["type"] = "NIRGraph",
                    ["nodes"] = new H5Group
                    {
                        ["in"] = new H5Group
                        {
                            ["type"] = "Input",
                            ["shape"] = ForeignNir.Longs(2),
                        },
                        ["w"] = new H5Group
                        {
                            ["type"] = "Linear",
                            ["weight"] = ForeignNir.Array(w, 2, 2),
                        },
                        ["out"] = new H5Group
                        {
                            ["type"] = "Output",
                            ["shape"] = ForeignNir.Longs(2),
                        },
                    },
                    ["edges"] = new[,]
                    {
                        { "in", "w" },
                        { "w", "out" },
                    },
                },
                ["1_LIFTorch"] = new H5Group
                {
                    ["type"] = "CubaLIF",
                    ["tau_syn"] = ForeignNir.Array(new[] { 0.002, 0.005 }, 2),
                    ["tau_mem"] = ForeignNir.Array(new[] { 0.004, 0.01 }, 2),
                    ["r"] = ForeignNir.Array(new[] { 1.0, 1.0 }, 2),
                    ["v_leak"] = ForeignNir.Array(new[] { 0.0, 0.0 }, 2),
                    ["v_threshold"] = ForeignNir.Array(new[] { 0.1, 0.2 }, 2),
                    ["w_in"] = ForeignNir.Array(new[] { 1.0, 1.0 }, 2),
                },
                ["output"] = new H5Group { ["type"] = "Output", ["shape"] = ForeignNir.Longs(2) },
            },
            new[,]
            {
                { "input", "0_LinearTorch.in" },
                { "0_LinearTorch.out", "1_LIFTorch" },
                { "1_LIFTorch", "output" },
            }
        );
        var graph = NirFile.Read(path);
        Assert.Null(graph.Version);
        Assert.NotNull(graph["0_LinearTorch"].Subgraph);
        using var model = new NirModel(graph, Dt);
        float[][] x = [.. Enumerable.Range(0, 10).Select(t => new[] { 1f, t % 2 == 0 ? 1f : 0f })];
        var rows = NirImport.Run(model, x, recordV: true);
        double[] i = [0, 0],
            v = [0, 0],
            tauSyn = [0.002, 0.005],
            tauMem = [0.004, 0.01],
            th = [0.1, 0.2];
        int spikes = 0;
        for (int t = 0; t < x.Length; t++)
        for (int m = 0; m < 2; m++)
        {
            double input = w[m * 2] * x[t][0] + w[m * 2 + 1] * x[t][1];
            i[m] += Dt / tauSyn[m] * (input - i[m]);
            v[m] += Dt / tauMem[m] * (-v[m] + i[m]);
            double s = v[m] >= th[m] ? 1 : 0;
            if (s == 1)
            {
                v[m] = 0;
                spikes++;
            }
            Assert.Equal(s, rows[t][2 + m]);
            Assert.True(Math.Abs(v[m] - rows[t][4 + m]) < 1e-5, $"step {t} v[{m}]");
        }
        Assert.True(spikes >= 2, $"{spikes} spikes");

        // A nested graph with two Inputs cannot be named by its own name.
        graph.Edges[0] = ("input", "0_LinearTorch");
        graph["0_LinearTorch"].Subgraph!.Add("in2", new NirNode("Input"));
        var e = Assert.Throws<NirFormatException>(() => new NirModel(graph, Dt));
        Assert.Contains(
            "names the nested graph '0_LinearTorch', which has 2 Input nodes (in, in2)",
            e.Message
        );
    }
}
