using SpikeEngine.Nn;
using Xunit;

namespace SpikeEngine.Models.Tests;

/// <summary>
/// The DA property: inside a stage the shortcut is pure addition, so the gradient of the stage
/// output reaches the stage input unchanged along the identity path. With every branch's last
/// BN zero-initialised (γ = 0) the branches contribute no gradient, and d out/d in must be
/// exactly the identity; a Spiking ResNet stage (neuron on the sum) must not pass that test.
/// </summary>
public class DenselyAdditiveTests
{
    private static readonly Func<NeuronNode> Neuron = () => new LifNode();

    private static float[] InputGradient(Layer stage, int channels, out float[] upstream)
    {
        using var scope = TensorScope.Begin();
        var x = Tensor.Normal([2, 2, channels, 8, 8], mean: 0.5f, seed: 21, requiresGrad: true);
        var y = stage.Forward(x);
        Assert.Equal(x.Shape, y.Shape);
        var g = Tensor.Normal(y.Shape.ToArray(), seed: 22);
        upstream = g.ToArray();
        var loss = (y * g).Sum();
        loss.Backward();
        return x.Grad!.ToArray();
    }

    private static ulong s_seed;

    private static ulong Seed() => ++s_seed;

    [Theory]
    [InlineData(Activation.Post, BlockKind.Basic)]
    [InlineData(Activation.Pre, BlockKind.Basic)]
    [InlineData(Activation.Post, BlockKind.Bottleneck)]
    [InlineData(Activation.Pre, BlockKind.Bottleneck)]
    public void StageGradientReachesItsInputUnchanged(Activation activation, BlockKind kind)
    {
        var c = 4 * ResidualBlock.Expansion(kind);
        var blocks = Enumerable
            .Range(0, 3)
            .Select(_ => new DaBlock(kind, activation, c, 4, 1, Neuron, Seed))
            .ToArray();
        foreach (var b in blocks)
            b.LastBn.ZeroInitWeight();
        using var stage = new DaStage(blocks);
        var grad = InputGradient(stage, c, out var upstream);
        Assert.Equal(upstream, grad);
    }

    [Fact]
    public void StageGradientIsIdentityPlusBranches()
    {
        // Without zero-init the branches add their own terms on top of the identity:
        // d x_L/d x_0 = I + Σ dF_i/dx_0. Check the identity term by removing the branches' part,
        // computed separately as the gradient of Σ F_i(x_i) with the same upstream gradient.
        var blocks = Enumerable
            .Range(0, 2)
            .Select(_ => new DaBlock(BlockKind.Basic, Activation.Pre, 4, 4, 1, Neuron, Seed))
            .ToArray();
        using var stage = new DaStage(blocks);
        var full = InputGradient(stage, 4, out var upstream);
        stage.ResetState(); // the neurons' membrane still belongs to the first (released) graph

        using var scope = TensorScope.Begin();
        var x = Tensor.Normal([2, 2, 4, 8, 8], mean: 0.5f, seed: 21, requiresGrad: true);
        var f0 = blocks[0].Residual(x);
        var x1 = x + f0;
        var f1 = blocks[1].Residual(x1);
        var branches = f0 + f1; // x_2 − x_0 = F_0(x_0) + F_1(x_1)
        var g = Tensor.FromArray(upstream, x.Shape.ToArray());
        (branches * g).Sum().Backward();
        var branchGrad = x.Grad!.ToArray();
        for (var i = 0; i < full.Length; i++)
            Assert.Equal(upstream[i], full[i] - branchGrad[i], 1e-4);
        Assert.Contains(branchGrad, v => Math.Abs(v) > 1e-3f);
    }

    [Fact]
    public void SpikingResNetStageIsNotAdditive()
    {
        var blocks = Enumerable
            .Range(0, 2)
            .Select(_ => new SpikingResNetBlock(BlockKind.Basic, 4, 4, 1, Neuron, Seed))
            .ToArray();
        foreach (var b in blocks)
            b.LastBn.ZeroInitWeight();
        using var stage = new Sequential(blocks);
        var grad = InputGradient(stage, 4, out var upstream);
        Assert.NotEqual(upstream, grad);
    }

    [Fact]
    public void AdditiveDownsampleKeepsTheChainLinearAcrossStages()
    {
        // With additive downsample and zero-init, a whole DANet-pre body is linear in its input
        // up to the last neuron: two stages map x to conv–BN(x) exactly.
        var b0 = new DaBlock(
            BlockKind.Basic,
            Activation.Pre,
            4,
            8,
            2,
            Neuron,
            Seed,
            DownsampleKind.Additive
        );
        var b1 = new DaBlock(BlockKind.Basic, Activation.Pre, 8, 8, 1, Neuron, Seed);
        b0.LastBn.ZeroInitWeight();
        b1.LastBn.ZeroInitWeight();
        using var stage = new DaStage(b0, b1);
        using var scope = TensorScope.Begin();
        var x = Tensor.Normal([2, 2, 4, 8, 8], seed: 5);
        var y = stage.Forward(x);
        var d = b0.Downsample!.Forward(x);
        Assert.Equal(d.ToArray(), y.ToArray());
        Assert.Throws<ArgumentException>(() =>
            new DaStage(b1, new DaBlock(BlockKind.Basic, Activation.Pre, 8, 16, 2, Neuron, Seed))
        );
    }
}
