using SpikeEngine.Data;
using SpikeEngine.Models;
using SpikeEngine.Nn;

namespace SpikeEngine.Training.Tests;

/// <summary>
/// danet-mnist is built from the Nn layers, so the memory layout (<c>spike train --memory</c>,
/// <see cref="MemoryOptions.ApplyTo"/>) reaches it: lean by default, standard on request, same
/// forward pass, gradients within the lean layout's tolerance (docs/memory.md).
/// </summary>
public sealed class DanetMnistMemoryTests
{
    private static (float[] Logits, Dictionary<string, float[]> Grads, long Saved) Step(
        MemoryOptions? memory
    )
    {
        using var net = ModelRegistry.Create("danet-mnist", ModelOptions.ForInput(10, 1, 28, 3));
        memory?.ApplyTo(net);
        using var scope = TensorScope.Begin();
        var x = Tensor.Normal([2, 2, 1, 28, 28], 0f, 2f, seed: 5);
        using var rec = GraphRecorder.Start();
        var y = net.Forward(x);
        var loss = Losses.Compute(y, Tensor.FromInt32([3, 7], [2]), LossKind.MeanCrossEntropy);
        var report = SavedBytesReport.Build(rec, net.Parameters(), _ => "net");
        loss.Backward();
        var grads = net.NamedParameters()
            .ToDictionary(p => p.Name, p => p.Tensor.Grad?.ToArray() ?? []);
        return (y.ToArray(), grads, report.SavedBytes);
    }

    [Fact]
    public void TheCatalogModelIsLeanAndStandardOnRequest()
    {
        var (defLogits, defGrads, defSaved) = Step(null);
        var (leanLogits, leanGrads, leanSaved) = Step(MemoryOptions.Lean);
        var (stdLogits, stdGrads, stdSaved) = Step(MemoryOptions.Standard);
        Assert.Equal(leanSaved, defSaved);
        Assert.Equal(leanLogits, defLogits);
        Assert.Equal(leanGrads["stem.weight"], defGrads["stem.weight"]);
        // Bit-packed spikes, float16 H, BN → LIF fusion and conv → BN recomputation: far less kept.
        Assert.True(leanSaved < stdSaved / 2, $"lean saves {leanSaved} B, standard {stdSaved} B");
        // The forward pass is the same; only float16 H changes the gradients, a little.
        Assert.Equal(stdLogits, leanLogits);
        double diff = 0,
            norm = 0;
        foreach (var (name, g) in stdGrads)
        {
            Assert.Equal(g.Length, leanGrads[name].Length);
            Assert.NotEmpty(g);
            for (int i = 0; i < g.Length; i++)
            {
                diff += Math.Pow(g[i] - leanGrads[name][i], 2);
                norm += Math.Pow(g[i], 2);
            }
        }
        Assert.True(norm > 0);
        Assert.InRange(Math.Sqrt(diff / norm), 0, 1e-2);
    }

    [Fact]
    public void MinEqualsLeanBitForBitAndKeepsLess()
    {
        var (leanLogits, leanGrads, leanSaved) = Step(MemoryOptions.Lean);
        var (minLogits, minGrads, minSaved) = Step(MemoryOptions.Min);
        Assert.Equal(leanLogits, minLogits);
        foreach (var (name, g) in leanGrads)
            Assert.True(g.SequenceEqual(minGrads[name]), $"gradient of {name} differs");
        Assert.True(minSaved < leanSaved, $"min saves {minSaved} B, lean {leanSaved} B");
    }

    [Fact]
    public void ParameterNamesAndCountAreThoseOfTheCheckpoints()
    {
        using var net = ModelRegistry.Create("danet-mnist", ModelOptions.ForInput(10, 1, 28, 1));
        Assert.Equal(30_746, net.ParameterCount());
        var names = net.NamedTensors().Select(t => t.Name).ToHashSet();
        foreach (
            var n in new[]
            {
                "stem.weight",
                "stem.bn.weight",
                "stem.bn.running_var",
                "down1.weight",
                "down2.bn.bias",
                "stage2.0.conv1.weight",
                "stage3.0.bn2.running_mean",
                "fc.weight",
                "fc.bias",
            }
        )
            Assert.Contains(n, names);
    }

    [Fact]
    public void TrainRejectsAnUnknownMemoryLayout()
    {
        var o = new StringWriter();
        var e = new StringWriter();
        var dir = Temp.Dir();
        int code = Cli.Spike.Run(
            [
                "train",
                "--model",
                "danet-mnist-tiny",
                "--dataset",
                "mnist",
                "--data",
                dir,
                "--out",
                dir,
                "--memory",
                "tiny",
            ],
            o,
            e
        );
        Assert.Equal(2, code);
        Assert.Contains("tiny", e.ToString());
    }
}
