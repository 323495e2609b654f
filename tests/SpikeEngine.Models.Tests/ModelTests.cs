using SpikeEngine.Nn;
using Xunit;

namespace SpikeEngine.Models.Tests;

public class ParameterCountTests
{
    private static readonly Func<NeuronNode> Neuron = () => new LifNode();

    [Theory]
    [InlineData(18, 11_689_512L)]
    [InlineData(34, 21_797_672L)]
    [InlineData(50, 25_557_032L)]
    [InlineData(101, 44_549_160L)]
    [InlineData(152, 60_192_808L)]
    public void SewAndSpikingResNetMatchTorchvisionCounts(int depth, long expected)
    {
        var options = new ModelOptions { NumClasses = 1000, Neuron = Neuron };
        foreach (var family in new[] { "sew-resnet", "spiking-resnet" })
        {
            var info = ModelInfo.Compute(family + depth, options, (3, 224, 224));
            Assert.Equal(expected, info.Parameters);
        }
    }

    [Theory]
    [InlineData("sew-resnet18")]
    [InlineData("spiking-resnet50")]
    [InlineData("danet-pre-resnet19")]
    public void ShapeOnlyCountEqualsBuiltModel(string name)
    {
        var options = new ModelOptions { NumClasses = 10, Neuron = Neuron };
        using var model = ModelRegistry.Create(name, options);
        Assert.Equal(
            model.ParameterCount(),
            ModelInfo.Compute(name, options, (3, 32, 32)).Parameters
        );
    }

    [Fact]
    public void NeuronElementsAt224()
    {
        var options = new ModelOptions { Neuron = Neuron };
        // stem 64·112² + layer1 4·64·56² + (4 or 5)·(128·28² + 256·14² + 512·7²): SEW adds downsample_sn.
        Assert.Equal(
            2_483_712L,
            ModelInfo.Compute("sew-resnet18", options, (3, 224, 224)).NeuronElementsPerStep
        );
        Assert.Equal(
            2_308_096L,
            ModelInfo.Compute("spiking-resnet18", options, (3, 224, 224)).NeuronElementsPerStep
        );
    }

    [Fact]
    public void ModelTableCoversEveryModelQuickly()
    {
        var sw = System.Diagnostics.Stopwatch.StartNew();
        var rows = ModelInfo.ComputeAll(new ModelOptions { Neuron = Neuron }, (3, 224, 224));
        sw.Stop();
        Assert.Equal(ModelRegistry.Zoo.Count, rows.Count);
        Assert.Equal(30, rows.Count);
        Assert.True(
            sw.Elapsed.TotalSeconds < 5,
            $"model table took {sw.Elapsed.TotalSeconds:F1} s"
        );
        foreach (var r in rows)
        {
            Assert.True(r.Parameters > 1_000_000, r.Name);
            Assert.True(r.NeuronElementsPerStep > 0, r.Name);
            Assert.Equal(r.SavedBytesPerSampleStep * 8, r.ActivationBytes(4, 2));
        }
        // Deeper is bigger within a family.
        var sew = rows.Where(r => r.Family == Family.SewResNet && r.Depth != 19)
            .OrderBy(r => r.Depth)
            .ToList();
        for (var i = 1; i < sew.Count; i++)
            Assert.True(
                sew[i].Parameters > sew[i - 1].Parameters
                    && sew[i].NeuronElementsPerStep > sew[i - 1].NeuronElementsPerStep
            );
    }
}

public class RegistryTests
{
    [Fact]
    public void EveryFamilyHasEveryDepth()
    {
        foreach (
            var prefix in new[]
            {
                "spiking-resnet",
                "sew-resnet",
                "ms-resnet",
                "danet-post-resnet",
                "danet-pre-resnet",
            }
        )
        {
            foreach (var d in new[] { 18, 34, 50, 101, 152, 19 })
                Assert.True(ModelRegistry.TryGet(prefix + d, out _), prefix + d);
        }
        Assert.True(ModelRegistry.TryGet("SEW-ResNet50", out var e));
        Assert.Equal(Family.SewResNet, e.Family);
    }

    [Fact]
    public void UnknownNameSuggestsClosest()
    {
        var ex = Assert.Throws<ArgumentException>(() => ModelRegistry.Get("sew-resnt50"));
        Assert.Contains("unknown model 'sew-resnt50'", ex.Message);
        Assert.Contains("did you mean 'sew-resnet50'", ex.Message);
        Assert.Equal("danet-pre-resnet18", ModelRegistry.Suggest("danet-pre-resnet-18")[0]);
        Assert.Empty(ModelRegistry.Suggest("vgg"));
        var noHint = Assert.Throws<ArgumentException>(() => ModelRegistry.Get("vgg"));
        Assert.DoesNotContain("did you mean", noHint.Message);
    }

    [Fact]
    public void MissingNeuronFactoryIsAnError()
    {
        var ex = Assert.Throws<ArgumentException>(() =>
            ModelRegistry.Create("sew-resnet18", new ModelOptions())
        );
        Assert.Contains("Neuron", ex.Message);
    }

    [Fact]
    public void NamesMapToTorchvision()
    {
        using var sew = ModelRegistry.Create(
            "sew-resnet18",
            new ModelOptions { Neuron = () => new LifNode() }
        );
        var names = sew.NamedParameters().Select(p => p.Name).ToHashSet();
        foreach (
            var n in new[]
            {
                "conv1.weight",
                "bn1.weight",
                "bn1.bias",
                "layer1.0.conv1.weight",
                "layer1.0.bn2.bias",
                "layer2.0.downsample.0.weight",
                "layer2.0.downsample.1.weight",
                "layer4.1.conv2.weight",
                "fc.weight",
                "fc.bias",
            }
        )
            Assert.Contains(n, names);
        Assert.Contains("layer2.0.downsample_sn", sew.NamedModules().Select(m => m.Name));
        Assert.Contains("layer1.0.sn2", sew.NamedModules().Select(m => m.Name));
        var buffers = sew.NamedBuffers().Select(b => b.Name).ToList();
        Assert.Contains("layer3.1.bn2.running_var", buffers);
    }

    [Fact]
    public void SameSeedSameWeights()
    {
        var o = new ModelOptions
        {
            NumClasses = 10,
            Neuron = () => new LifNode(),
            Seed = 3,
        };
        using var a = (ResNet)ModelRegistry.Create("danet-post-resnet19", o);
        using var b = (ResNet)ModelRegistry.Create("danet-post-resnet19", o);
        using var c = ModelRegistry.Create("danet-post-resnet19", o with { Seed = 4 });
        Assert.Equal(a.Fc.Weight.ToArray(), b.Fc.Weight.ToArray());
        var wa = a.NamedParameters().First(p => p.Name == "layer2.1.conv1.weight").Tensor.ToArray();
        var wb = b.NamedParameters().First(p => p.Name == "layer2.1.conv1.weight").Tensor.ToArray();
        var wc = c.NamedParameters().First(p => p.Name == "layer2.1.conv1.weight").Tensor.ToArray();
        Assert.Equal(wa, wb);
        Assert.NotEqual(wa, wc);
    }
}
