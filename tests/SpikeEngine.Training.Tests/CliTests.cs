using System.Buffers.Binary;
using System.Text.Json;
using SpikeEngine.Cli;
using SpikeEngine.Cpu;

namespace SpikeEngine.Training.Tests;

public sealed class CliTests
{
    private static (int Code, string Out, string Err) Spike(params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        int code = Cli.Spike.Run(args, o, e);
        return (code, o.ToString(), e.ToString());
    }

    private static string[] Lines(string s) => s.Split('\n', StringSplitOptions.RemoveEmptyEntries);

    [Fact]
    public void MissingRequiredOptionIsAOneLineUsageError()
    {
        var (code, _, err) = Spike("train", "--dataset", "mnist");
        Assert.Equal(2, code);
        Assert.Single(Lines(err));
        Assert.Contains("--model", err);
    }

    [Theory]
    [InlineData("--T", "0", "--T")]
    [InlineData("--dataset", "svhn", "svhn")]
    [InlineData("--device", "tpu", "tpu")]
    [InlineData("--model", "danet-mnst", "did you mean 'danet-mnist'")]
    public void BadValuesNameTheOptionAndValue(string option, string value, string expected)
    {
        var args = new Dictionary<string, string>
        {
            ["--model"] = "danet-mnist-tiny",
            ["--dataset"] = "mnist",
            ["--data"] = Temp.Dir(),
            ["--out"] = Temp.Dir(),
        };
        args[option] = value;
        var (code, _, err) = Spike(["train", .. args.SelectMany(kv => new[] { kv.Key, kv.Value })]);
        Assert.Equal(2, code);
        Assert.Single(Lines(err));
        Assert.Contains(expected, err);
    }

    [Theory]
    [InlineData("neuron")]
    [InlineData("step")]
    [InlineData("train")]
    public void CudaWithoutAGpuIsAOneLineRuntimeErrorSayingWhy(string what)
    {
        if (SpikeEngine.Cuda.CudaRuntime.IsAvailable)
            Assert.Skip("a CUDA GPU is present here: the GPU bundle runs these commands on it");
        string[] args = what switch
        {
            "neuron" => ["bench", "neuron", "--device", "cuda", "--T", "1", "--neurons", "64"],
            "step" =>
            [
                "bench",
                "step",
                "--device",
                "cuda",
                "--model",
                "sew-resnet18",
                "--T",
                "1",
                "--batch",
                "1",
                "--input",
                "3x32x32",
            ],
            _ =>
            [
                "train",
                "--device",
                "cuda:0",
                "--model",
                "danet-mnist-tiny",
                "--dataset",
                "mnist",
                "--data",
                Temp.Dir(),
                "--out",
                Temp.Dir(),
            ],
        };
        var (code, _, err) = Spike(args);
        Assert.Equal(1, code);
        Assert.Single(Lines(err));
        Assert.Contains("--device cuda:0", err);
        Assert.Contains("no CUDA GPU here", err);
    }

    [Fact]
    public void UnknownCommandAndNoCommandAreUsageErrors()
    {
        Assert.Equal(2, Spike("fly").Code);
        var (code, _, err) = Spike();
        Assert.Equal(2, code);
        Assert.Contains("command is required", err);
    }

    [Fact]
    public void MissingDataIsARuntimeErrorThatSaysHowToFetchIt()
    {
        var (code, _, err) = Spike(
            "train",
            "--model",
            "danet-mnist-tiny",
            "--dataset",
            "mnist",
            "--data",
            Temp.Dir(),
            "--out",
            Temp.Dir()
        );
        Assert.Equal(1, code);
        Assert.Single(Lines(err));
        Assert.Contains("build.ps1 data", err);
        var verbose = Spike(
            "train",
            "--model",
            "danet-mnist-tiny",
            "--dataset",
            "mnist",
            "--data",
            Temp.Dir(),
            "--out",
            Temp.Dir(),
            "--verbose"
        );
        Assert.Equal(1, verbose.Code);
        Assert.Contains("   at ", verbose.Err);
    }

    [Fact]
    public void HelpStatesTheExitCodesOnce()
    {
        var (code, output, _) = Spike("--help");
        Assert.Equal(0, code);
        var at = output.IndexOf(
            "Exit codes: 0 success, 1 runtime failure",
            StringComparison.Ordinal
        );
        Assert.True(at >= 0, output);
        Assert.Equal(-1, output.IndexOf("Exit codes", at + 1, StringComparison.Ordinal));
        Assert.Contains("bench", output);
    }

    [Theory]
    [InlineData("train")]
    [InlineData("eval")]
    [InlineData("info")]
    [InlineData("models")]
    [InlineData("bench")]
    [InlineData("nir")]
    [InlineData("data")]
    public void CommandHelpLeavesTheExitCodesToTheTopLevel(string command)
    {
        var (code, output, _) = Spike(command, "--help");
        Assert.Equal(0, code);
        Assert.DoesNotContain("Exit codes", output);
    }

    [Fact]
    public void RunFoldersAreFreshAndNumbered()
    {
        var root = Path.Combine(Temp.Dir(), "runs");
        var first = RunFolder.Next(root, "danet-mnist", "mnist");
        Assert.Equal(Path.Combine(root, "danet-mnist-mnist-0"), first);
        Assert.True(Directory.Exists(first));
        Assert.Equal(
            Path.Combine(root, "danet-mnist-mnist-1"),
            RunFolder.Next(root, "danet-mnist", "mnist")
        );
        // Numbering continues above the highest n, skips unrelated folders, and is per model and dataset.
        Directory.CreateDirectory(Path.Combine(root, "danet-mnist-mnist-7"));
        Directory.CreateDirectory(Path.Combine(root, "danet-mnist-mnist-old"));
        Assert.Equal(
            Path.Combine(root, "danet-mnist-mnist-8"),
            RunFolder.Next(root, "danet-mnist", "mnist")
        );
        Assert.Equal(
            Path.Combine(root, "danet-mnist-cifar10-0"),
            RunFolder.Next(root, "danet-mnist", "cifar10")
        );
    }

    [Fact]
    public void ResumeWithoutOutIsAUsageError()
    {
        var (code, _, err) = Spike(
            "train",
            "--model",
            "danet-mnist-tiny",
            "--dataset",
            "mnist",
            "--data",
            Temp.Dir(),
            "--resume"
        );
        Assert.Equal(2, code);
        Assert.Single(Lines(err));
        Assert.Contains("--out", err);
    }

    [Fact]
    public void InfoReportsVersionDevicesAndBlas()
    {
        var (code, output, _) = Spike("info");
        Assert.Equal(0, code);
        Assert.Contains("spike 0.", output);
        Assert.Contains("cpu:", output);
        Assert.Contains("BLAS:", output);
        Assert.Contains("oneDNN:", output);
        Assert.Contains(CpuBackend.ConvolutionPath, output);
    }

    [Fact]
    public void BenchStepProfileTimesEveryOpKindOfTheStep()
    {
        var (code, output, err) = Spike(
            "bench",
            "step",
            "--model",
            "sew-resnet18",
            "--T",
            "1",
            "--batch",
            "2",
            "--input",
            "3x8x8",
            "--stem",
            "cifar",
            "--num-classes",
            "4",
            "--steps",
            "1",
            "--profile",
            "--json"
        );
        Assert.True(code == 0, err);
        using var doc = JsonDocument.Parse(output);
        var root = doc.RootElement;
        Assert.True(root.GetProperty("cpu_s_per_step").GetDouble() > 0);
        var profile = root.GetProperty("profile");
        // sew-resnet18: 20 convolutions, 20 BN layers with a neuron each, max pool and global
        // average pool, one linear layer, cross-entropy, SGD. Other tests running at the same
        // time may add calls, never remove them.
        foreach (
            var (kind, min) in new (string, double)[]
            {
                ("conv_fwd", 20),
                ("conv_bwd_data", 19), // the stem's input needs no gradient
                ("conv_bwd_weights", 20),
                ("bn", 40),
                ("neuron", 34),
                ("pooling", 2),
                ("gemm", 1),
                ("loss", 2),
                ("optimizer", 1),
            }
        )
        {
            var k = profile.GetProperty(kind);
            Assert.True(
                k.GetProperty("calls_per_step").GetDouble() >= min,
                $"{kind}: {k.GetProperty("calls_per_step")} calls per step, expected at least {min}"
            );
            Assert.True(k.GetProperty("ms_per_step").GetDouble() >= 0, kind);
            Assert.True(k.GetProperty("cpu_ms_per_step").GetDouble() >= 0, kind);
            Assert.True(k.GetProperty("cpu_share").GetDouble() >= 0, kind);
        }
        Assert.True(profile.TryGetProperty("other", out _));
        Assert.Equal(1.0, profile.GetProperty("step").GetProperty("share").GetDouble());
        Assert.Equal(1.0, profile.GetProperty("step").GetProperty("cpu_share").GetDouble());
    }

    internal static void WriteIdx(string dir, string stem, int count, int seed)
    {
        var ds = new SyntheticDataset(count, seed, classes: 4);
        var images = new byte[16 + count * 64];
        BinaryPrimitives.WriteInt32BigEndian(images, 0x0803);
        BinaryPrimitives.WriteInt32BigEndian(images.AsSpan(4), count);
        BinaryPrimitives.WriteInt32BigEndian(images.AsSpan(8), 8);
        BinaryPrimitives.WriteInt32BigEndian(images.AsSpan(12), 8);
        var labels = new byte[8 + count];
        BinaryPrimitives.WriteInt32BigEndian(labels, 0x0801);
        BinaryPrimitives.WriteInt32BigEndian(labels.AsSpan(4), count);
        var buf = new float[64];
        for (int i = 0; i < count; i++)
        {
            var r = default(Data.SampleRandom);
            labels[8 + i] = (byte)ds.ReadSample(i, buf, ref r);
            for (int k = 0; k < 64; k++)
                images[16 + i * 64 + k] = (byte)Math.Clamp(buf[k] * 110, 0, 255);
        }
        File.WriteAllBytes(Path.Combine(dir, stem + "-images-idx3-ubyte"), images);
        File.WriteAllBytes(Path.Combine(dir, stem + "-labels-idx1-ubyte"), labels);
    }

    [Fact]
    public void TrainEvalAndResumeEndToEnd()
    {
        var data = Temp.Dir();
        WriteIdx(data, "train", 64, 1);
        WriteIdx(data, "t10k", 32, 2);
        var outDir = Temp.Dir();
        string[] train =
        [
            "train",
            "--model",
            "danet-mnist-tiny",
            "--dataset",
            "mnist",
            "--data",
            data,
            "--T",
            "2",
            "--epochs",
            "1",
            "--batch",
            "16",
            "--out",
            outDir,
            "--workers",
            "1",
        ];
        var (code, output, err) = Spike(train);
        Assert.True(code == 0, err);
        Assert.Contains("epoch 1:", output);
        var metrics = File.ReadAllLines(Path.Combine(outDir, "metrics.jsonl"));
        using (var doc = JsonDocument.Parse(metrics.Single()))
        {
            foreach (
                var key in new[]
                {
                    "epoch",
                    "train_loss",
                    "train_acc",
                    "test_acc",
                    "images_per_s",
                    "peak_bytes",
                    "firing_rates",
                    "skipped_steps",
                }
            )
                Assert.True(doc.RootElement.TryGetProperty(key, out _), key);
        }
        var sidecar = Directory.GetFiles(Path.Combine(outDir, "checkpoints"), "*.json").Single();

        var ev = Spike("eval", "--checkpoint", sidecar, "--data", data, "--json");
        Assert.True(ev.Code == 0, ev.Err);
        using (var doc = JsonDocument.Parse(ev.Out))
            Assert.Equal(32, doc.RootElement.GetProperty("samples").GetInt32());

        var model = sidecar.Replace(".json", ".safetensors");
        var bytes = File.ReadAllBytes(model);
        bytes[^2] ^= 0x10;
        File.WriteAllBytes(model, bytes);
        var resumed = Spike([.. train, "--resume"]);
        Assert.Equal(1, resumed.Code);
        Assert.Single(Lines(resumed.Err));
        Assert.Contains(Path.GetFileName(model), resumed.Err);
        Assert.Contains("corrupt", resumed.Err);
        Assert.Equal(bytes, File.ReadAllBytes(model));
    }
}
