using SpikeEngine.Nn;
using Xunit;

namespace SpikeEngine.Models.Tests;

/// <summary>Every family at depth 18, 50 and 19: forward and backward on CPU (T=2, batch 2, 32 px, cifar stem).</summary>
public class TrainStepTests
{
    public static TheoryData<string, DownsampleKind> Models()
    {
        var data = new TheoryData<string, DownsampleKind>();
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
            foreach (var d in new[] { 18, 50, 19 })
                data.Add(prefix + d, DownsampleKind.Additive);
        }
        data.Add("danet-post-resnet18", DownsampleKind.Spiking);
        data.Add("danet-pre-resnet18", DownsampleKind.Spiking);
        return data;
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void ForwardBackwardReachesEveryParameter(string name, DownsampleKind downsample)
    {
        const int t = 2,
            n = 2,
            classes = 10;
        var options = new ModelOptions
        {
            NumClasses = classes,
            Stem = Stem.Cifar,
            Neuron = () => new LifNode(),
            Downsample = downsample,
            Seed = 1,
        };
        using var model = ModelRegistry.Create(name, options);
        using var scope = TensorScope.Begin();
        var x = Tensor.Normal([t, n, 3, 32, 32], seed: 2);
        var y = model.Forward(x);
        Assert.Equal(new[] { t, n, classes }, y.Shape.ToArray());
        Assert.Equal(y.Shape.ToArray(), model.InferShape([t, n, 3, 32, 32], new ShapeTrace()));
        var logits = y.Mean([0]);
        var labels = Tensor.FromInt32([3, 7], [n]);
        var loss = Ops.CrossEntropy(logits, labels);
        Assert.True(float.IsFinite(loss.Item()), $"{name}: loss {loss.Item()}");
        loss.Backward();
        foreach (var (pname, p) in model.NamedParameters())
        {
            Assert.True(p.Grad is not null, $"{name}: {pname} got no gradient");
            var g = p.Grad!.ToArray();
            Assert.True(g.All(float.IsFinite), $"{name}: {pname} has a non-finite gradient");
            Assert.True(g.Any(v => v != 0f), $"{name}: {pname} has an all-zero gradient");
        }
    }

    [Fact]
    public void SewConnectFunctionsFollowThePaper()
    {
        using var a = Tensor.FromArray([0, 0, 1, 1], [4]);
        using var s = Tensor.FromArray([0, 1, 0, 1], [4]);
        using var add = Connect.Sew(SewConnect.Add, a, s);
        using var and = Connect.Sew(SewConnect.And, a, s);
        using var iand = Connect.Sew(SewConnect.IAnd, a, s);
        Assert.Equal(new float[] { 0, 1, 1, 2 }, add.ToArray());
        Assert.Equal(new float[] { 0, 0, 0, 1 }, and.ToArray());
        // IAND(A, S) = (¬A) ∧ S: passes the identity where the residual did not fire.
        Assert.Equal(new float[] { 0, 1, 0, 0 }, iand.ToArray());
    }

    [Theory]
    [InlineData(SewConnect.And)]
    [InlineData(SewConnect.IAnd)]
    public void SewAndVariantsTrain(SewConnect connect)
    {
        var options = new ModelOptions
        {
            NumClasses = 10,
            Stem = Stem.Cifar,
            // AND passes a spike only where both operands fire: a low threshold keeps the deep
            // stream active at initialisation so every layer sees gradient.
            Neuron = () => new LifNode(vThreshold: 0.2f),
            Connect = connect,
        };
        using var model = (ResNet)ModelRegistry.Create("sew-resnet18", options);
        using var scope = TensorScope.Begin();
        // Strong input so LIF neurons (τ = 2 halves the charge) fire at initialisation.
        var y = model.Forward(Tensor.Normal([2, 2, 3, 32, 32], 0f, 4f, seed: 4));
        var loss = y.Square().Mean();
        loss.Backward();
        Assert.True(float.IsFinite(loss.Item()));
        Assert.Contains(model.Fc.Weight.Grad!.ToArray(), v => v != 0f);
        Assert.Contains(
            model.NamedParameters().First(p => p.Name == "conv1.weight").Tensor.Grad!.ToArray(),
            v => v != 0f
        );
    }
}
