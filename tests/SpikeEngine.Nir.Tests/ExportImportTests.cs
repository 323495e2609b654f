using SpikeEngine.Data;
using SpikeEngine.Models;
using SpikeEngine.Nn;
using SpikeEngine.Training;

namespace SpikeEngine.Nir.Tests;

public sealed class ExportImportTests
{
    [Fact]
    public void TrainedDanetMnistKeepsItsTestAccuracyThroughNir()
    {
        var dir = Temp.Dir();
        var train = new QuadrantDataset(160, 1);
        var test = new QuadrantDataset(48, 2);
        var options = new TrainerOptions
        {
            Epochs = 2,
            BatchSize = 8,
            TimeSteps = 2,
            LearningRate = 5e-3f,
            Seed = 3,
            OutputDirectory = Path.Combine(dir, "run"),
            Workers = 0,
            ModelName = "danet-mnist",
            Run = new Dictionary<string, string>
            {
                ["dataset"] = "synthetic",
                ["num_classes"] = "4",
                ["input"] = "1x28x28",
                ["encoder"] = "direct",
                ["seed"] = "3",
            },
        };
        using var net = ModelRegistry.Create(
            "danet-mnist",
            ModelOptions.ForInput(4, train.Shape.Channels, train.Shape.Height, 3)
        );
        var result = new Trainer(options).Run(
            net,
            train,
            test,
            cancel: TestContext.Current.CancellationToken
        );
        Assert.NotNull(result.LastCheckpoint);

        var nir = Path.Combine(dir, "model.nir");
        var (code, _, err) = Cli.Run(
            "nir",
            "export",
            "--checkpoint",
            result.LastCheckpoint!,
            "--out",
            nir,
            "--dt",
            "0.001"
        );
        Assert.True(code == 0, err);
        (code, _, err) = Cli.Run(
            "nir",
            "import",
            nir,
            "--out",
            Path.Combine(dir, "imported"),
            "--T",
            "2"
        );
        Assert.True(code == 0, err);

        var graph = NirFile.Read(nir);
        // BN is folded: no BatchNorm node, and the DA shortcut is a second edge into the block's consumer.
        Assert.DoesNotContain(graph.Nodes, n => n.Value.Type == "BatchNorm2d");
        Assert.Equal(
            ["Affine", "AvgPool2d", "Conv2d", "Flatten", "Input", "LIF", "Output"],
            graph.Nodes.Select(n => n.Value.Type).Distinct().Order(StringComparer.Ordinal)
        );
        Assert.Contains(graph.Edges, e => e.Target == "head_lif" && e.Source == "stage3.0.conv2");
        Assert.Contains(graph.Edges, e => e.Target == "head_lif" && e.Source == "down2");
        Assert.Equal([16, 14, 14], graph["stage2.0.sn1"].Arrays["tau"].Shape);

        var reference = Trainer.Evaluate(
            net,
            test,
            new EvalOptions(16, 2, new DirectEncoder(), 0, Device.Cpu)
        );
        var sidecar = Directory.GetFiles(Path.Combine(dir, "imported"), "*.json").Single();
        var ckpt = SpikeEngine.Training.Checkpoints.CheckpointStore.Load(sidecar);
        using var imported = NirImport.Load(Path.Combine(dir, "imported", "graph.nir"));
        Trainer.LoadWeights(imported, ckpt.Model, sidecar);
        var again = Trainer.Evaluate(
            imported,
            test,
            new EvalOptions(16, 2, new DirectEncoder(), 0, Device.Cpu)
        );
        Assert.True(
            reference.Top1 > 0.4,
            $"the trained model should beat chance (0.25), got {reference.Top1}; epochs: {string.Join("; ", result.Epochs)}"
        );
        Assert.Equal(reference.Top1, again.Top1);
        Assert.Equal(reference.Loss, again.Loss, 1e-3);
    }

    [Fact]
    public void RoundTripKeepsEveryNodeEdgeAndArray()
    {
        var dir = Temp.Dir();
        using var net = ModelRegistry.Create(
            "danet-mnist-tiny",
            ModelOptions.ForInput(10, 1, 28, 5)
        );
        net.Eval();
        var graph = NirExport.Export(net, [1, 28, 28], 1e-3);
        var path = Path.Combine(dir, "g.nir");
        NirFile.Write(path, graph);
        var back = NirFile.Read(path);
        Assert.Equal(NirFile.FormatVersion, back.Version);
        Graphs.AssertSame(graph, back);
        Assert.Equal(1e-3, ((NirArray)back.Metadata["dt"]).Data[0], 1e-9);

        // Import ∘ export: the imported model exports every node, edge and array again.
        using var model = new NirModel(back, 1e-3);
        Assert.Equal([1, 28, 28], model.InputShape());
        Assert.Equal([10], model.OutputShape());
        Graphs.AssertSame(back, NirExport.Export(model, [1, 28, 28], 1e-3));
        Assert.Throws<ArgumentException>(() => NirExport.Export(model, [1, 28, 28], 2e-3));
    }

    [Fact]
    public void ImportedGraphIsTrainable()
    {
        using var net = ModelRegistry.Create(
            "danet-mnist-tiny",
            ModelOptions.ForInput(4, 1, 28, 5)
        );
        net.Eval();
        var graph = NirExport.Export(net, [1, 28, 28], 1e-3);
        using var model = new NirModel(graph, 1e-3);
        using var scope = TensorScope.Begin();
        var x = Tensor.Uniform([2, 3, 1, 28, 28], 0f, 1.5f, 9);
        var y = model.Forward(x);
        Assert.Equal([2, 3, 4], y.Shape.ToArray());
        using var shifted = y - 1f;
        var loss = shifted.Square().Mean();
        loss.Backward();
        Assert.All(model.NamedParameters(), p => Assert.NotNull(p.Tensor.Grad));
        Assert.Contains(model.NamedParameters(), p => p.Tensor.Grad!.ToArray().Any(g => g != 0));
    }

    [Fact]
    public void MaxPoolingAndSoftResetAreRefusedNamingTheOp()
    {
        using var pooled = new Sequential(
            new Conv2d(1, 2, 3, padding: 1),
            new LifNode(),
            new MaxPool2d(2, 2)
        );
        var e = Assert.Throws<NotSupportedException>(() =>
            NirExport.Export(pooled, [1, 8, 8], 1e-3)
        );
        Assert.Contains("max pooling", e.Message);
        using var soft = new Sequential(new Conv2d(1, 2, 3), new IfNode(vReset: null));
        e = Assert.Throws<NotSupportedException>(() => NirExport.Export(soft, [1, 8, 8], 1e-3));
        Assert.Contains("soft reset", e.Message);
        // The ImageNet stem max-pools; SEW AND multiplies spike trains.
        using var imagenet = ModelRegistry.Create(
            "sew-resnet18",
            ModelOptions.ForInput(10, 3, 96, 1) with
            {
                Stem = Stem.ImageNet,
            }
        );
        e = Assert.Throws<NotSupportedException>(() =>
            NirExport.Export(imagenet, [3, 96, 96], 1e-3)
        );
        Assert.Contains("'maxpool' is max pooling (MaxPool2d)", e.Message);
        using var and = ModelRegistry.Create(
            "sew-resnet18",
            ModelOptions.ForInput(10, 3, 16, 1) with
            {
                Connect = SewConnect.And,
            }
        );
        e = Assert.Throws<NotSupportedException>(() => NirExport.Export(and, [3, 16, 16], 1e-3));
        Assert.Contains("'layer1.0' joins its shortcut with SEW AND", e.Message);
        using var iand = ModelRegistry.Create(
            "sew-resnet18",
            ModelOptions.ForInput(10, 3, 16, 1) with
            {
                Connect = SewConnect.IAnd,
            }
        );
        e = Assert.Throws<NotSupportedException>(() => NirExport.Export(iand, [3, 16, 16], 1e-3));
        Assert.Contains("'layer1.0' joins its shortcut with SEW IAND", e.Message);
    }
}
