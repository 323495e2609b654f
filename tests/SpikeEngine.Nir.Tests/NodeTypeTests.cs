using System.Globalization;
using PureHDF;

namespace SpikeEngine.Nir.Tests;

/// <summary>
/// Every NIR node type on its own (Input (2) → node → Output), with parameters that differ
/// between the two neurons, simulated by <c>NirImport.Run</c> (and <c>spike nir run</c>) against
/// its equation stepped by hand with forward Euler in float64.
/// </summary>
public sealed class NodeTypeTests
{
    private const double Dt = 1e-4;

    // Two inputs over 12 steps: on/off patterns with different magnitudes.
    private static readonly double[][] Input =
    [
        .. Enumerable
            .Range(0, 12)
            .Select(t => new[] { t % 3 == 2 ? 0.0 : 1.0, t < 6 ? 0.6 : (t % 2 == 0 ? 1.5 : -0.4) }),
    ];

    private static string Write(string type, H5Group node, int width = 2, string? version = "1.0.7")
    {
        node["type"] = type;
        var path = Path.Combine(Temp.Dir(), type + ".nir");
        ForeignNir.Write(
            path,
            version,
            new H5Group
            {
                ["input"] = new H5Group { ["type"] = "Input", ["shape"] = ForeignNir.Longs(width) },
                ["node"] = node,
                ["output"] = new H5Group
                {
                    ["type"] = "Output",
                    ["shape"] = ForeignNir.Longs(width),
                },
            },
            new[,]
            {
                { "input", "node" },
                { "node", "output" },
            }
        );
        return path;
    }

    private static object Pair(double a, double b) => ForeignNir.Array(new[] { a, b }, 2);

    // Rows of NirImport.Run: input, output, then each neuron node's membrane.
    private static List<float[]> Run(string path, bool recordV = false)
    {
        using var model = NirImport.Load(path, Dt);
        return NirImport.Run(
            model,
            [.. Input.Select(r => r.Select(v => (float)v).ToArray())],
            recordV
        );
    }

    private static void Near(double expected, double actual, string what) =>
        Assert.True(
            Math.Abs(expected - actual) <= 1e-5 + 1e-5 * Math.Abs(expected),
            $"{what}: expected {expected.ToString("R", CultureInfo.InvariantCulture)}, got {actual.ToString("R", CultureInfo.InvariantCulture)}"
        );

    [Fact]
    public void LeakyIntegratorFollowsEulerWithPerNeuronParameters()
    {
        double[] tau = [2e-3, 5e-4],
            r = [1, 2],
            leak = [0, 0.1];
        var rows = Run(
            Write(
                "LI",
                new H5Group
                {
                    ["tau"] = Pair(tau[0], tau[1]),
                    ["r"] = Pair(r[0], r[1]),
                    ["v_leak"] = Pair(leak[0], leak[1]),
                }
            ),
            recordV: true
        );
        double[] v = [.. leak]; // starts at rest
        for (int t = 0; t < Input.Length; t++)
        for (int m = 0; m < 2; m++)
        {
            v[m] += Dt / tau[m] * (leak[m] - v[m] + r[m] * Input[t][m]);
            Near(v[m], rows[t][2 + m], $"LI out step {t} neuron {m}");
            Near(v[m], rows[t][4 + m], $"LI v step {t} neuron {m}");
        }
    }

    [Fact]
    public void IntegratorFollowsEuler()
    {
        double[] r = [1000, -3000];
        var rows = Run(Write("I", new H5Group { ["r"] = Pair(r[0], r[1]) }));
        double[] v = [0, 0];
        for (int t = 0; t < Input.Length; t++)
        for (int m = 0; m < 2; m++)
        {
            v[m] += Dt * r[m] * Input[t][m];
            Near(v[m], rows[t][2 + m], $"I step {t} neuron {m}");
        }
    }

    [Fact]
    public void LifWithPerNeuronParametersAndLeakOtherThanResetFiresLikeEuler()
    {
        double[] tau = [2.5e-4, 1e-3],
            r = [1, 2],
            leak = [0, 0.05],
            th = [0.5, 0.3],
            reset = [0, -0.1];
        var path = Write(
            "LIF",
            new H5Group
            {
                ["tau"] = Pair(tau[0], tau[1]),
                ["r"] = Pair(r[0], r[1]),
                ["v_leak"] = Pair(leak[0], leak[1]),
                ["v_threshold"] = Pair(th[0], th[1]),
                ["v_reset"] = Pair(reset[0], reset[1]),
            }
        );
        var rows = Run(path, recordV: true);
        double[] v = [.. leak];
        int spikes = 0;
        for (int t = 0; t < Input.Length; t++)
        for (int m = 0; m < 2; m++)
        {
            v[m] += Dt / tau[m] * (leak[m] - v[m] + r[m] * Input[t][m]);
            double s = v[m] >= th[m] ? 1 : 0;
            if (s == 1)
            {
                v[m] = reset[m];
                spikes++;
            }
            Near(s, rows[t][2 + m], $"LIF spike step {t} neuron {m}");
            Near(v[m], rows[t][4 + m], $"LIF v step {t} neuron {m}");
        }
        Assert.True(spikes >= 4, $"both neurons should fire ({spikes} spikes)");
    }

    [Fact]
    public void IfWithPerNeuronParametersFiresLikeEuler()
    {
        double[] r = [2000, 5000],
            th = [0.5, 0.7],
            reset = [0, 0.1];
        var rows = Run(
            Write(
                "IF",
                new H5Group
                {
                    ["r"] = Pair(r[0], r[1]),
                    ["v_threshold"] = Pair(th[0], th[1]),
                    ["v_reset"] = Pair(reset[0], reset[1]),
                }
            ),
            recordV: true
        );
        double[] v = [.. reset];
        int spikes = 0;
        for (int t = 0; t < Input.Length; t++)
        for (int m = 0; m < 2; m++)
        {
            v[m] += Dt * r[m] * Input[t][m];
            double s = v[m] >= th[m] ? 1 : 0;
            if (s == 1)
            {
                v[m] = reset[m];
                spikes++;
            }
            Near(s, rows[t][2 + m], $"IF spike step {t} neuron {m}");
            Near(v[m], rows[t][4 + m], $"IF v step {t} neuron {m}");
        }
        Assert.True(spikes >= 4, $"both neurons should fire ({spikes} spikes)");
    }

    [Fact]
    public void CubaLifFollowsItsSynapseThenItsMembrane()
    {
        double[] tauSyn = [5e-4, 2e-4],
            tauMem = [1e-3, 4e-4],
            r = [2, 1],
            leak = [0, 0.02],
            th = [0.2, 0.25],
            reset = [0, -0.05],
            wIn = [1, 1.5];
        var rows = Run(
            Write(
                "CubaLIF",
                new H5Group
                {
                    ["tau_syn"] = Pair(tauSyn[0], tauSyn[1]),
                    ["tau_mem"] = Pair(tauMem[0], tauMem[1]),
                    ["r"] = Pair(r[0], r[1]),
                    ["v_leak"] = Pair(leak[0], leak[1]),
                    ["v_threshold"] = Pair(th[0], th[1]),
                    ["v_reset"] = Pair(reset[0], reset[1]),
                    ["w_in"] = Pair(wIn[0], wIn[1]),
                }
            ),
            recordV: true
        );
        double[] i = [0, 0],
            v = [.. leak];
        int spikes = 0;
        for (int t = 0; t < Input.Length; t++)
        for (int m = 0; m < 2; m++)
        {
            i[m] += Dt / tauSyn[m] * (wIn[m] * Input[t][m] - i[m]);
            v[m] += Dt / tauMem[m] * (leak[m] - v[m] + r[m] * i[m]);
            double s = v[m] >= th[m] ? 1 : 0;
            if (s == 1)
            {
                v[m] = reset[m];
                spikes++;
            }
            Near(s, rows[t][2 + m], $"CubaLIF spike step {t} neuron {m}");
            Near(v[m], rows[t][4 + m], $"CubaLIF v step {t} neuron {m}");
        }
        Assert.True(spikes >= 2, $"the CubaLIF layer should fire ({spikes} spikes)");
    }

    [Fact]
    public void ThresholdScaleAndLinearAreStatelessElementwiseMaps()
    {
        var th = Run(Write("Threshold", new H5Group { ["threshold"] = Pair(0.5, -0.2) }));
        var sc = Run(Write("Scale", new H5Group { ["scale"] = Pair(2, -0.5) }));
        double[,] w =
        {
            { 0.3, -1.2 },
            { 0.7, 0.25 },
        };
        var lin = Run(
            Write(
                "Linear",
                new H5Group { ["weight"] = ForeignNir.Array(new[] { 0.3, -1.2, 0.7, 0.25 }, 2, 2) }
            )
        );
        for (int t = 0; t < Input.Length; t++)
        {
            var x = Input[t];
            Near(x[0] >= 0.5 ? 1 : 0, th[t][2], $"Threshold step {t} [0]");
            Near(x[1] >= -0.2 ? 1 : 0, th[t][3], $"Threshold step {t} [1]");
            Near(2 * x[0], sc[t][2], $"Scale step {t} [0]");
            Near(-0.5 * x[1], sc[t][3], $"Scale step {t} [1]");
            for (int k = 0; k < 2; k++)
                Near(w[k, 0] * x[0] + w[k, 1] * x[1], lin[t][2 + k], $"Linear step {t} [{k}]");
        }
    }

    [Fact]
    public void DelayShiftsEachElementByItsOwnNumberOfSteps()
    {
        // delay/dt rounds to 0 and 3 steps; streamed one step per call, so the line carries over.
        var rows = Run(Write("Delay", new H5Group { ["delay"] = Pair(0, 3.0000001 * Dt) }));
        for (int t = 0; t < Input.Length; t++)
        {
            Near(Input[t][0], rows[t][2], $"Delay step {t} [0]");
            Near(t >= 3 ? Input[t - 3][1] : 0, rows[t][3], $"Delay step {t} [1]");
        }
        // Over a whole window at once (training) the same.
        using var model = NirImport.Load(
            Write("Delay", new H5Group { ["delay"] = Pair(0, 3 * Dt) }),
            Dt
        );
        using var scope = TensorScope.Begin();
        var x = Input.SelectMany(r => r.Select(v => (float)v)).ToArray();
        var y = model.Forward(Tensor.FromArray(x, [Input.Length, 1, 2])).ToArray();
        for (int t = 0; t < Input.Length; t++)
            Near(t >= 3 ? Input[t - 3][1] : 0, y[t * 2 + 1], $"Delay window step {t}");
    }

    [Fact]
    public void AvgPoolAndConv1dMatchHandComputedValues()
    {
        // Input (1, 2, 2) → AvgPool2d 2×2 → (1, 1, 1): the mean of the four values.
        var path = Path.Combine(Temp.Dir(), "pool.nir");
        ForeignNir.Write(
            path,
            "1.0.7",
            new H5Group
            {
                ["input"] = new H5Group
                {
                    ["type"] = "Input",
                    ["shape"] = ForeignNir.Longs(1, 2, 2),
                },
                ["pool"] = new H5Group
                {
                    ["type"] = "AvgPool2d",
                    ["kernel_size"] = ForeignNir.Longs(2, 2),
                    ["stride"] = ForeignNir.Longs(2, 2),
                    ["padding"] = ForeignNir.Longs(0, 0),
                },
                ["output"] = new H5Group
                {
                    ["type"] = "Output",
                    ["shape"] = ForeignNir.Longs(1, 1, 1),
                },
            },
            new[,]
            {
                { "input", "pool" },
                { "pool", "output" },
            }
        );
        using (var pool = NirImport.Load(path, Dt))
        {
            var rows = NirImport.Run(
                pool,
                [
                    [1f, 2f, 4f, -3f],
                ],
                false
            );
            Near(1.0, rows[0][4], "AvgPool2d");
        }

        // Input (1, 5) → Conv1d weight (2, 1, 3), padding 1, bias → (2, 5).
        double[] w = [0.5, -1, 2, 1, 0.25, -0.5];
        double[] b = [0.1, -0.2];
        path = Path.Combine(Temp.Dir(), "conv1d.nir");
        ForeignNir.Write(
            path,
            "1.0.7",
            new H5Group
            {
                ["input"] = new H5Group { ["type"] = "Input", ["shape"] = ForeignNir.Longs(1, 5) },
                ["conv"] = new H5Group
                {
                    ["type"] = "Conv1d",
                    ["weight"] = ForeignNir.Array(w, 2, 1, 3),
                    ["bias"] = ForeignNir.Array(b, 2),
                    ["stride"] = 1L,
                    ["padding"] = 1L,
                    ["dilation"] = 1L,
                    ["groups"] = 1L,
                    ["input_shape"] = 5L,
                },
                ["output"] = new H5Group
                {
                    ["type"] = "Output",
                    ["shape"] = ForeignNir.Longs(2, 5),
                },
            },
            new[,]
            {
                { "input", "conv" },
                { "conv", "output" },
            }
        );
        float[] x = [1, -2, 0.5f, 3, 1.5f];
        using var conv = NirImport.Load(path, Dt);
        Assert.Equal([2, 5], conv.OutputShape());
        var y = NirImport.Run(conv, [x], false)[0][5..];
        for (int o = 0; o < 2; o++)
        for (int i = 0; i < 5; i++)
        {
            double s = b[o];
            for (int k = 0; k < 3; k++)
                if (i + k - 1 is >= 0 and < 5)
                    s += w[o * 3 + k] * x[i + k - 1];
            Near(s, y[o * 5 + i], $"Conv1d out [{o}, {i}]");
        }
    }

    [Fact]
    public void NirRunCommandRunsAStepByStepNode()
    {
        // The CLI on a CubaLI-free node with per-neuron values: the I node's trace.
        var dir = Temp.Dir();
        var graph = Write("I", new H5Group { ["r"] = Pair(1000, 2000) });
        File.WriteAllText(Path.Combine(dir, "in.csv"), "a,b\n1,0.5\n1,-1\n0,2\n");
        var (header, rows) = Cli.NirRun(graph, Dt.ToString("R", CultureInfo.InvariantCulture), dir);
        Assert.Equal("in_0,in_1,out_0,out_1,node.v_0,node.v_1", header);
        var last = rows[2];
        Near(0.1 * 2, last[2], "I after 3 steps [0]"); // 0.1·(1 + 1 + 0)
        Near(0.2 * 1.5, last[3], "I after 3 steps [1]"); // 0.2·(0.5 − 1 + 2)
        Near(last[2], last[4], "record-v equals the I output");
    }

    [Fact]
    public void BadParametersAreRefusedNamingTheNode()
    {
        var e = Assert.Throws<NirFormatException>(() =>
            Run(
                Write(
                    "LI",
                    new H5Group
                    {
                        ["tau"] = Pair(1e-3, 5e-5),
                        ["r"] = Pair(1, 1),
                        ["v_leak"] = Pair(0, 0),
                    }
                )
            )
        );
        Assert.Contains("node 'node' (LI) has tau = 5E-05 s, shorter than dt", e.Message);
        e = Assert.Throws<NirFormatException>(() =>
            Run(
                Write("Scale", new H5Group { ["scale"] = ForeignNir.Array(new[] { 1.0, 2, 3 }, 3) })
            )
        );
        Assert.Contains(
            "node 'node' (Scale) 'scale' has shape (3) (3 values) but the layer has 2",
            e.Message
        );
        e = Assert.Throws<NirFormatException>(() =>
            Run(Write("Delay", new H5Group { ["delay"] = Pair(-1e-4, 0) }))
        );
        Assert.Contains("node 'node' (Delay) has delay -0.0001 s", e.Message);
        e = Assert.Throws<NirFormatException>(() =>
            Run(
                Write(
                    "LIF",
                    new H5Group
                    {
                        ["tau"] = ForeignNir.Array(Array.Empty<double>(), 0),
                        ["r"] = Pair(1, 1),
                        ["v_leak"] = Pair(0, 0),
                        ["v_threshold"] = Pair(1, 1),
                    }
                )
            )
        );
        Assert.Contains(
            "node 'node' (LIF) 'tau' has shape (0) (0 values) but the layer has 2 neurons",
            e.Message
        );
        e = Assert.Throws<NirFormatException>(() => Run(Write("Spiky", new H5Group())));
        Assert.Contains("node 'node' has type 'Spiky'", e.Message);
    }
}
