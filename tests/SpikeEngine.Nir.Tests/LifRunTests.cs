using System.Globalization;
using PureHDF;

namespace SpikeEngine.Nir.Tests;

public sealed class LifRunTests
{
    // The NIR paper's single-neuron graph: Input → Affine (weight 1) → LIF → Output.
    private static void WriteLifGraph(string path) =>
        ForeignNir.Write(
            path,
            "0.1.1",
            new H5Group
            {
                ["input"] = new H5Group { ["type"] = "Input", ["shape"] = ForeignNir.Longs(1) },
                ["0"] = new H5Group
                {
                    ["type"] = "Affine",
                    ["weight"] = ForeignNir.Array(new[] { 1f }, 1, 1),
                    ["bias"] = ForeignNir.Array(new[] { 0f }, 1),
                },
                ["1"] = new H5Group
                {
                    ["type"] = "LIF",
                    ["tau"] = ForeignNir.Array(new[] { 0.0025f }, 1),
                    ["r"] = ForeignNir.Array(new[] { 1f }, 1),
                    ["v_leak"] = ForeignNir.Array(new[] { 0f }, 1),
                    ["v_threshold"] = ForeignNir.Array(new[] { 0.1f }, 1),
                },
                ["output"] = new H5Group { ["type"] = "Output", ["shape"] = ForeignNir.Longs(1) },
            },
            new[,]
            {
                { "input", "0" },
                { "0", "1" },
                { "1", "output" },
            }
        );

    [Fact]
    public void HandComputedEulerSteps()
    {
        // dt/τ = 0.1 ms / 2.5 ms = 0.04. Constant input 1: v1 = 0.04, v2 = 0.04 + 0.04·0.96 = 0.0784,
        // v3 = 0.0784 + 0.04·(1 − 0.0784) = 0.115264 > 0.1: a spike at step 3, reset to 0, again at
        // 6; steps 7-8 carry no input (v stays 0), so 9, 10, 11 fire at 11; step 13 has no input
        // and v decays 0.04 → 0.0384, so the next spike needs steps 14 and 15; then 18.
        var dir = Temp.Dir();
        var graph = Path.Combine(dir, "lif.nir");
        WriteLifGraph(graph);
        var input = new float[] { 1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1 };
        File.WriteAllText(
            Path.Combine(dir, "in.csv"),
            string.Join('\n', input.Select(v => v.ToString(CultureInfo.InvariantCulture))) + "\n"
        );
        var (header, rows) = Cli.NirRun(graph, "0.0001", dir);
        Assert.Equal("in_0,out_0,1.v_0", header);
        Assert.Equal(input.Length, rows.Length);

        // Forward Euler of τ dv/dt = (v_leak − v) + R I by hand, float64.
        double v = 0,
            k = 0.0001 / 0.0025;
        var expectedSpikes = new List<int>();
        for (int t = 0; t < input.Length; t++)
        {
            v += k * (0 - v + 1 * input[t]);
            bool spike = v > 0.1;
            if (spike)
            {
                expectedSpikes.Add(t + 1);
                v = 0;
            }
            Assert.Equal(input[t], rows[t][0]);
            Assert.Equal(v, rows[t][2], 1e-5);
        }
        var spikes = rows.Select((r, i) => (r[1], i + 1))
            .Where(p => p.Item1 == 1)
            .Select(p => p.Item2)
            .ToList();
        Assert.All(rows, r => Assert.True(r[1] is 0 or 1));
        Assert.Equal([3, 6, 11, 15, 18], expectedSpikes);
        Assert.Equal(expectedSpikes, spikes);
    }

    [Fact]
    public void RunRefusesWrongRowWidthAndMissingDt()
    {
        var dir = Temp.Dir();
        var graph = Path.Combine(dir, "lif.nir");
        WriteLifGraph(graph);
        File.WriteAllText(Path.Combine(dir, "in.csv"), "1,2\n");
        var (code, _, err) = Cli.Run(
            "nir",
            "run",
            graph,
            "--dt",
            "0.0001",
            "--input",
            Path.Combine(dir, "in.csv"),
            "--out",
            Path.Combine(dir, "o.csv")
        );
        Assert.Equal(1, code);
        Assert.Contains("row 1 has 2 values", err);
        (code, _, err) = Cli.Run(
            "nir",
            "run",
            graph,
            "--input",
            Path.Combine(dir, "in.csv"),
            "--out",
            Path.Combine(dir, "o.csv")
        );
        Assert.Equal(2, code);
        Assert.Contains("--dt", err);
    }

    [Fact]
    public void LifWithTauShorterThanDtIsRefusedNamingTheNode()
    {
        var dir = Temp.Dir();
        var graph = Path.Combine(dir, "lif.nir");
        WriteLifGraph(graph);
        var g = NirFile.Read(graph);
        var e = Assert.Throws<NirFormatException>(() => new NirModel(g, 0.01));
        Assert.Contains("node '1' (LIF)", e.Message);
        Assert.Contains("forward Euler needs tau ≥ dt", e.Message);
    }
}

public sealed class DataFramesCommandTests
{
    [Fact]
    public void DataFramesWritesNpyOfHandComputedFrames()
    {
        var dir = Temp.Dir();
        var bin = Path.Combine(dir, "00001.bin");
        // Three N-MNIST events: (1, 2) ON at 0 µs, (1, 2) ON at 10 µs, (3, 0) OFF at 20 µs.
        File.WriteAllBytes(bin, [1, 2, 0x80, 0, 0, 1, 2, 0x80, 0, 10, 3, 0, 0, 0, 20]);
        var npy = Path.Combine(dir, "f.npy");
        var (code, _, err) = Cli.Run(
            "data",
            "frames",
            "--format",
            "nmnist",
            bin,
            "--frames",
            "2",
            "--split",
            "time",
            "--out",
            npy
        );
        Assert.True(code == 0, err);
        var bytes = File.ReadAllBytes(npy);
        Assert.Equal(0x93, bytes[0]);
        int headerLength = BitConverter.ToUInt16(bytes, 8);
        var header = System.Text.Encoding.ASCII.GetString(bytes, 10, headerLength);
        Assert.Contains("'descr': '<f4'", header);
        Assert.Contains("'shape': (2, 2, 34, 34)", header);
        Assert.Equal(0, (10 + headerLength) % 64);
        var values = new float[2 * 2 * 34 * 34];
        Buffer.BlockCopy(bytes, 10 + headerLength, values, 0, values.Length * 4);
        // dt = ⌊20/2⌋ = 10: frame 0 = [0, 10) holds the first event, frame 1 the other two.
        Assert.Equal(1f, values[0 * 2312 + 1 * 1156 + 2 * 34 + 1]);
        Assert.Equal(1f, values[1 * 2312 + 1 * 1156 + 2 * 34 + 1]);
        Assert.Equal(1f, values[1 * 2312 + 0 * 1156 + 0 * 34 + 3]);
        Assert.Equal(3f, values.Sum());

        // Cropped to (1, 0) 4×4 and downsampled by 2: (1, 2) → (0, 2) → (0, 1); (3, 0) → (2, 0) → (1, 0).
        (code, _, err) = Cli.Run(
            "data",
            "frames",
            "--format",
            "nmnist",
            bin,
            "--frames",
            "2",
            "--split",
            "time",
            "--crop",
            "1,0,4,4",
            "--downsample",
            "2",
            "--out",
            npy
        );
        Assert.True(code == 0, err);
        bytes = File.ReadAllBytes(npy);
        headerLength = BitConverter.ToUInt16(bytes, 8);
        Assert.Contains(
            "'shape': (2, 2, 2, 2)",
            System.Text.Encoding.ASCII.GetString(bytes, 10, headerLength)
        );
        values = new float[2 * 2 * 2 * 2];
        Buffer.BlockCopy(bytes, 10 + headerLength, values, 0, values.Length * 4);
        float[] expected = new float[16];
        expected[0 * 8 + 1 * 4 + 1 * 2 + 0] = 1; // frame 0, ON, y 1, x 0
        expected[1 * 8 + 1 * 4 + 1 * 2 + 0] = 1; // frame 1, ON, y 1, x 0
        expected[1 * 8 + 0 * 4 + 0 * 2 + 1] = 1; // frame 1, OFF, y 0, x 1
        Assert.Equal(expected, values);
    }
}

public sealed class EventTrainingCommandTests
{
    // N-MNIST layout, 3 train and 1 test recording per digit: digit d has 12 events on row 3·d,
    // 5 µs apart (x, y, polarity | t, t, t).
    private static string WriteNMnist(string dir)
    {
        var data = Path.Combine(dir, "nmnist");
        foreach (var (split, count) in new[] { ("Train", 3), ("Test", 1) })
            for (int d = 0; d < 10; d++)
            {
                var sub = Path.Combine(data, split, d.ToString(CultureInfo.InvariantCulture));
                Directory.CreateDirectory(sub);
                for (int i = 0; i < count; i++)
                {
                    var bytes = Enumerable
                        .Range(0, 12)
                        .SelectMany(k =>
                            new byte[]
                            {
                                (byte)(k + i),
                                (byte)(3 * d),
                                (byte)(k % 2 << 7),
                                0,
                                (byte)(5 * k),
                            }
                        )
                        .ToArray();
                    File.WriteAllBytes(Path.Combine(sub, $"{i:D5}.bin"), bytes);
                }
            }
        return data;
    }

    // spike train danet-mnist-tiny on the N-MNIST folder for one epoch, then the checkpoint's sidecar.
    private static (int Code, string Output, string Err, string? Sidecar) Train(
        string data,
        string run,
        params string[] options
    )
    {
        var (code, output, err) = Cli.Run([
            "train",
            "--model",
            "danet-mnist-tiny",
            "--dataset",
            "nmnist",
            "--data",
            data,
            "--epochs",
            "1",
            "--batch",
            "10",
            "--workers",
            "0",
            "--out",
            run,
            .. options,
        ]);
        var dir = Path.Combine(run, "checkpoints");
        var sidecar = Directory.Exists(dir)
            ? Directory.GetFiles(dir, "*.json").Order(StringComparer.Ordinal).LastOrDefault()
            : null;
        return (code, output, err, sidecar);
    }

    [Fact]
    public void TrainAndEvalOnNMnistFrames()
    {
        var dir = Temp.Dir();
        var data = WriteNMnist(dir);
        var run = Path.Combine(dir, "run");
        var (code, output, err, sidecar) = Train(data, run, "--frames", "3", "--split", "time");
        Assert.True(code == 0, err + output);
        Assert.Contains("T=3", output);
        Assert.NotEmpty(Directory.GetFiles(Path.Combine(data, ".frames-cache")));
        (code, output, err) = Cli.Run("eval", "--checkpoint", sidecar!, "--data", data, "--json");
        Assert.True(code == 0, err);
        Assert.Contains("\"samples\":10", output);

        (code, _, err, _) = Train(data, run);
        Assert.Equal(2, code);
        Assert.Contains("--frames", err);
    }

    [Fact]
    public void TrainAppliesEventTransformsAndEvalReadsThemBack()
    {
        var dir = Temp.Dir();
        var data = WriteNMnist(dir);
        var run = Path.Combine(dir, "run");
        var (code, output, err, sidecar) = Train(
            data,
            run,
            "--frames",
            "2",
            "--denoise",
            "20",
            "--crop",
            "1,1,32,32",
            "--jitter",
            "3"
        );
        Assert.True(code == 0, err + output);
        var info = File.ReadAllText(sidecar!);
        Assert.Contains("\"crop\":\"1,1,32,32\"", info);
        Assert.Contains("\"denoise\":\"20\"", info);
        Assert.Contains("\"jitter\":\"3\"", info);
        // Only the deterministic test split was cached (jittered training frames never are).
        Assert.Equal(10, Directory.GetFiles(Path.Combine(data, ".frames-cache")).Length);
        (code, output, err) = Cli.Run("eval", "--checkpoint", sidecar!, "--data", data, "--json");
        Assert.True(code == 0, err);
        Assert.Contains("\"samples\":10", output);

        (code, _, err, _) = Train(data, run, "--frames", "2", "--crop", "1,1,32");
        Assert.Equal(2, code);
        Assert.Contains("--crop: crop window: expected LEFT,TOP,WIDTH,HEIGHT", err);
    }
}
