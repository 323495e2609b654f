using SpikeEngine.Models;
using SpikeEngine.Nn;

namespace SpikeEngine.Nir.Tests;

/// <summary>
/// The zoo's residual families through NIR: export, write, read, import; the graph keeps every
/// node, edge and array, and the imported model's outputs equal the original's on a batch.
/// </summary>
public sealed class ResNetExportTests
{
    public static TheoryData<string, DownsampleKind> Families =>
        new()
        {
            { "spiking-resnet18", DownsampleKind.Additive },
            { "sew-resnet18", DownsampleKind.Additive },
            { "ms-resnet18", DownsampleKind.Additive },
            { "danet-post-resnet18", DownsampleKind.Additive },
            { "danet-post-resnet18", DownsampleKind.Spiking },
            { "danet-pre-resnet18", DownsampleKind.Spiking },
        };

    [Theory]
    [MemberData(nameof(Families))]
    public void ExportImportKeepsTheGraphAndTheOutputs(string name, DownsampleKind downsample)
    {
        const double dt = 1e-3;
        using var net = ModelRegistry.Create(
            name,
            ModelOptions.ForInput(10, 3, 16, 7, MemoryOptions.Standard) with
            {
                Downsample = downsample,
            }
        );
        // Batch-norm statistics and affine parameters away from the identity, so the folding
        // into the convolutions is exercised, and large enough that spikes reach the head.
        var rng = new Random(11);
        float[] Draw(Tensor t, double low, double width) =>
            [
                .. Enumerable
                    .Range(0, (int)t.Numel)
                    .Select(_ => (float)(low + width * rng.NextDouble())),
            ];
        foreach (var bn in net.NamedModules().Select(m => m.Module).OfType<BatchNorm2d>())
        {
            bn.Weight.CopyFrom(Draw(bn.Weight, 1.5, 1.5));
            bn.Bias.CopyFrom(Draw(bn.Bias, 0.2, 0.5));
            bn.RunningMean.CopyFrom(Draw(bn.RunningMean, -0.1, 0.2));
            bn.RunningVar.CopyFrom(Draw(bn.RunningVar, 0.5, 1.0));
        }
        net.Eval();
        var graph = NirExport.Export(net, [3, 16, 16], dt);
        Assert.Contains(graph.Nodes, n => n.Value.Type == "Conv2d");
        // Residual sums are nodes with several incoming edges.
        Assert.Contains(graph.Nodes, n => graph.Edges.Count(e => e.Target == n.Key) >= 2);

        var path = Path.Combine(Temp.Dir(), name + ".nir");
        NirFile.Write(path, graph);
        var back = NirFile.Read(path);
        Graphs.AssertSame(graph, back);

        using var model = new NirModel(back, dt);
        model.Eval();
        Graphs.AssertSame(back, NirExport.Export(model, [3, 16, 16], dt));

        using var scope = TensorScope.Begin();
        var x = Tensor.Uniform([3, 2, 3, 16, 16], 0f, 2f, 5);
        net.ResetState();
        var expected = net.Forward(x).ToArray();
        var actual = model.Forward(x).ToArray();
        var bias = net.Fc.Bias!.ToArray();
        Assert.Contains(
            Enumerable.Range(0, expected.Length),
            i => Math.Abs(expected[i] - bias[i % 10]) > 1e-3
        ); // spikes reach the classifier
        for (int i = 0; i < expected.Length; i++)
            Assert.True(
                Math.Abs(expected[i] - actual[i]) <= 1e-4 + 1e-4 * Math.Abs(expected[i]),
                $"{name}: output {i}: engine {expected[i]}, imported NIR {actual[i]}"
            );
    }
}
