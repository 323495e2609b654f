using Xunit;

namespace SpikeEngine.Nn.Tests.Layers;

/// <summary>
/// The fusion plan is decided when the memory options are applied, from the modules' types, and
/// is visible in the model: which neighbours a lean chain fuses, that the standard layout fuses
/// none, that evaluation runs the fused steps module by module with the same result, and the one
/// text form of <see cref="MemoryOptions"/>.
/// </summary>
public class ModuleChainTests
{
    private static Sequential Chain() =>
        new(
            new Conv2d(3, 4, 3, padding: 1, seed: 1),
            new BatchNorm2d(4),
            new LifNode(),
            new Conv2d(4, 4, 3, padding: 1, seed: 2),
            new BatchNorm2d(4),
            new MaxPool2d(2, 2),
            new Conv2d(4, 4, 1, bias: true, seed: 3),
            new BatchNorm2d(4)
        );

    [Fact]
    public void LeanFusesBnNeuronAndConvBnWhereTheyAreNeighbours()
    {
        using var seq = Chain();
        Assert.All(seq.Plan.Steps, s => Assert.Equal(Fusion.None, s.Fusion)); // before any options
        MemoryOptions.Lean.ApplyTo(seq);
        Assert.Equal(
            [
                new ChainStep(0, 1, Fusion.None), // the conv before a BN fused with the neuron
                new ChainStep(1, 2, Fusion.BnNeuron),
                new ChainStep(3, 2, Fusion.ConvBn),
                new ChainStep(5, 1, Fusion.None),
                new ChainStep(6, 1, Fusion.None), // a conv with bias is not recomputed
                new ChainStep(7, 1, Fusion.None),
            ],
            seq.Plan.Steps
        );
        Assert.Equal("0 → [1 + 2: BnNeuron] → [3 + 4: ConvBn] → 5 → 6 → 7", seq.Plan.Describe(seq));
        var (owner, chain) = Assert.Single(seq.Chains());
        Assert.Equal("", owner);
        Assert.Same(seq.Plan, chain);

        MemoryOptions.Standard.ApplyTo(seq);
        Assert.Equal(8, seq.Plan.Steps.Count);
        Assert.All(seq.Plan.Steps, s => Assert.Equal(Fusion.None, s.Fusion));
        MemoryOptions.Parse("lean,fuse_bn_neuron=false").ApplyTo(seq);
        Assert.Equal(
            [Fusion.ConvBn, Fusion.None, Fusion.ConvBn, Fusion.None, Fusion.None, Fusion.None],
            seq.Plan.Steps.Select(s => s.Fusion)
        );
    }

    [Fact]
    public void LeanRecomputesOnlyTheConvOutputsThatAreCheapToRecompute()
    {
        // The cost is C·KH·KW / 2 FLOPs per byte freed: 576 for a 3×3 conv over 128 channels,
        // 448 over 99 channels, 512 for a 1×1 conv over 1024 channels.
        using var seq = new Sequential(
            new Conv2d(128, 8, 3, padding: 1, seed: 1),
            new BatchNorm2d(8),
            new Conv2d(8, 8, 1, seed: 2),
            new BatchNorm2d(8),
            new Conv2d(8, 99, 1, seed: 3),
            new BatchNorm2d(99),
            new Conv2d(99, 1024, 3, padding: 1, seed: 4),
            new BatchNorm2d(1024),
            new Conv2d(1024, 8, 1, seed: 5),
            new BatchNorm2d(8)
        );
        var convs = seq.Modules.OfType<Conv2d>().ToArray();
        Assert.Equal([576.0, 4.0, 4.0, 445.5, 512.0], convs.Select(MemoryOptions.RecomputeCost));
        MemoryOptions.Lean.ApplyTo(seq);
        Assert.Equal(
            [Fusion.None, Fusion.None, Fusion.ConvBn, Fusion.ConvBn, Fusion.ConvBn, Fusion.ConvBn],
            seq.Plan.Steps.Select(s => s.Fusion)
        );
        Assert.Equal(0, seq.Plan.Steps[0].Start);
        Assert.Equal(1, seq.Plan.Steps[1].Start);
        MemoryOptions.Parse("lean,recompute_conv_bn_limit=none").ApplyTo(seq);
        Assert.All(seq.Plan.Steps, s => Assert.Equal(Fusion.ConvBn, s.Fusion));
        MemoryOptions.Parse("lean,recompute_conv_bn_limit=100").ApplyTo(seq);
        Assert.Equal(
            [
                Fusion.None,
                Fusion.None,
                Fusion.ConvBn,
                Fusion.ConvBn,
                Fusion.None,
                Fusion.None,
                Fusion.None,
                Fusion.None,
            ],
            seq.Plan.Steps.Select(s => s.Fusion)
        );
    }

    [Fact]
    public void SingleStepNeuronsAreNotFused()
    {
        using var seq = new Sequential(
            new BatchNorm2d(2),
            new LifNode { StepMode = StepMode.Single }
        );
        MemoryOptions.Lean.ApplyTo(seq);
        Assert.All(seq.Plan.Steps, s => Assert.Equal(Fusion.None, s.Fusion));
    }

    [Fact]
    public void EvaluationRunsTheFusedStepsOneByOneWithTheSameResult()
    {
        using var lean = Chain();
        using var standard = Chain();
        MemoryOptions.Lean.ApplyTo(lean);
        MemoryOptions.Standard.ApplyTo(standard);
        lean.Eval();
        standard.Eval();
        using var scope = TensorScope.Begin();
        var x = Tensor.Normal([2, 3, 3, 6, 6], 0f, 1f, seed: 4); // (T, N, C, H, W)
        using var noGrad = GradMode.NoGrad();
        Assert.Equal(standard.Forward(x).ToArray(), lean.Forward(x).ToArray());
    }

    [Fact]
    public void AnEmptyChainReturnsAViewOfItsInput()
    {
        using var seq = new Sequential();
        using var scope = TensorScope.Begin();
        var x = Tensor.Full([2, 3], 1.5f);
        var y = seq.Forward(x);
        Assert.NotSame(x, y);
        Assert.Equal(x.ToArray(), y.ToArray());
    }

    [Theory]
    [InlineData("lean")]
    [InlineData("standard")]
    [InlineData("lean,state=bf16")]
    [InlineData("standard,pack_spikes=true")]
    [InlineData("lean,fuse_bn_neuron=false,recompute_conv_bn=false")]
    [InlineData("lean,recompute_conv_bn_limit=none")]
    [InlineData("lean,recompute_conv_bn_limit=4096")]
    [InlineData("standard,recompute_conv_bn=true,recompute_conv_bn_limit=100")]
    public void TheTextFormRoundTrips(string text)
    {
        var options = MemoryOptions.Parse(text);
        Assert.Equal(text, options.ToString());
        Assert.Equal(options, MemoryOptions.Parse(options.ToString()));
    }

    [Fact]
    public void TheTextFormMeansWhatItSays()
    {
        Assert.Equal(MemoryOptions.Lean, MemoryOptions.Parse("LEAN"));
        Assert.Equal(MemoryOptions.Standard, MemoryOptions.Parse("standard"));
        Assert.Equal(
            new MemoryOptions(
                true,
                DType.BFloat16,
                true,
                true,
                RecomputeConvBnLimit: MemoryOptions.LeanRecomputeLimit
            ),
            MemoryOptions.Parse("lean, state=bf16")
        );
        Assert.Equal(
            new MemoryOptions(false, DType.Float16, false, false),
            MemoryOptions.Parse("standard,state=fp16")
        );
        var json = System.Text.Json.JsonSerializer.Serialize(MemoryOptions.Lean);
        Assert.Equal("\"lean\"", json);
        Assert.Equal(
            MemoryOptions.Lean,
            System.Text.Json.JsonSerializer.Deserialize<MemoryOptions>(json)
        );
    }

    [Theory]
    [InlineData("tiny", "expected standard, lean or min", "'tiny'")]
    [InlineData("lean,size=3", "unknown key 'size'", "lean,size=3")]
    [InlineData("lean,state=int8", "state must be fp32, bf16 or fp16", "'int8'")]
    [InlineData("standard,pack_spikes=maybe", "pack_spikes must be true or false", "'maybe'")]
    [InlineData(
        "lean,recompute_conv_bn_limit=0",
        "recompute_conv_bn_limit must be an integer ≥ 1 or none",
        "'0'"
    )]
    public void BadTextNamesTheOptionAndTheValue(string text, string what, string value)
    {
        var e = Assert.Throws<ArgumentException>(() => MemoryOptions.Parse(text));
        Assert.Contains("--memory", e.Message);
        Assert.Contains(what, e.Message);
        Assert.Contains(value, e.Message);
    }
}
