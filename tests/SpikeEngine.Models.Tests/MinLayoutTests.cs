using SpikeEngine.Nn;
using Xunit;

namespace SpikeEngine.Models.Tests;

/// <summary>
/// The min layout (lean plus recomputed segments of blocks) against lean on every family at depth
/// 18 (cifar stem, T = 4, batch 2, 32 px), with LIF and PLIF neurons: the logits, every parameter
/// gradient and every BN running statistic after the step are bit-identical, and min keeps less.
/// </summary>
public class MinLayoutTests
{
    private const int T = 4,
        N = 2,
        Classes = 10;

    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        foreach (var f in MemoryLayoutTests.Families)
        {
            data.Add(f, "lif");
            data.Add(f, "plif");
        }
        return data;
    }

    internal sealed record StepResult(
        float[] Logits,
        Dictionary<string, float[]> Grads,
        Dictionary<string, float[]> Buffers,
        SavedBytesReport Report
    );

    internal static StepResult Step(string name, string neuron, MemoryOptions memory)
    {
        var options = new ModelOptions
        {
            NumClasses = Classes,
            Stem = Stem.Cifar,
            // A low threshold keeps every layer firing at initialisation (gradient everywhere).
            Neuron =
                neuron == "plif"
                    ? () => new PlifNode(initTau: 1.7f, vThreshold: 0.5f)
                    : () => new LifNode(vThreshold: 0.5f),
            Memory = memory,
            Seed = 3,
        };
        using var model = ModelRegistry.Create(name, options);
        using var scope = TensorScope.Begin();
        var x = Tensor.Normal([T, N, 3, 32, 32], 0f, 2f, seed: 5);
        using var rec = GraphRecorder.Start();
        var y = model.Forward(x);
        var loss = Ops.CrossEntropy(y.Mean([0]), Tensor.FromInt32([3, 7], [N]));
        var names = model.NamedModules().ToDictionary(m => (object)m.Module, m => m.Name);
        var report = SavedBytesReport.Build(
            rec,
            model.Parameters(),
            o => o is not null && names.TryGetValue(o, out var n) ? n : "(other)"
        );
        loss.Backward();
        return new StepResult(
            y.ToArray(),
            model.NamedParameters().ToDictionary(p => p.Name, p => p.Tensor.Grad?.ToArray() ?? []),
            model.NamedBuffers().ToDictionary(b => b.Name, b => b.Tensor.ToArray()),
            report
        );
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void GradientsAndRunningStatisticsEqualLeanBitForBit(string family, string neuron)
    {
        var lean = Step(family, neuron, MemoryOptions.Lean);
        // LIF cases recompute every stage, PLIF cases the min layout's own choice (all but the last).
        var min = Step(
            family,
            neuron,
            neuron == "lif"
                ? MemoryOptions.Min with
                {
                    RecomputeStages = MemoryOptions.AllStages,
                }
                : MemoryOptions.Min
        );
        Assert.Equal(lean.Logits, min.Logits);
        Assert.Equal(lean.Grads.Keys, min.Grads.Keys);
        foreach (var (p, g) in lean.Grads)
        {
            Assert.True(g.Length > 0, $"{family} {neuron}: {p} got no gradient");
            Assert.True(
                g.SequenceEqual(min.Grads[p]),
                $"{family} {neuron}: gradient of {p} differs"
            );
        }
        foreach (var (b, v) in lean.Buffers)
            Assert.True(v.SequenceEqual(min.Buffers[b]), $"{family} {neuron}: buffer {b} differs");
        Assert.True(
            min.Report.SavedBytes < lean.Report.SavedBytes / 2,
            $"{family} {neuron}: min saves {min.Report.SavedBytes} B, lean {lean.Report.SavedBytes} B"
        );
        // The generic figure is a property of the ops, not of the layout.
        Assert.Equal(lean.Report.GenericBytes, min.Report.GenericBytes);
    }

    // sew-resnet18 in min: the stem is a segment of its own that keeps the images (float32), the
    // first stage runs in one-block segments whose inputs are the stem's spikes (bit-packed) and
    // the first block's spike counts (one byte each), and the later stages keep SEW ADD's counts
    // as bytes too.
    [Fact]
    public void SewStemAndCountStreamBoundariesKeepImagesBitsAndBytes()
    {
        var min = Step(
            "sew-resnet18",
            "lif",
            MemoryOptions.Min with
            {
                RecomputeStages = MemoryOptions.AllStages,
            }
        ).Report;
        var rows = min.Rows.ToDictionary(r => r.Layer);
        long images = T * N * 3 * 32 * 32,
            stage1 = T * N * 64 * 32 * 32;
        Assert.Equal("recompute", rows["conv1"].Ops);
        Assert.Equal(4 * images, rows["conv1"].SavedBytes);
        Assert.Equal(stage1 / 8, rows["layer1.0"].SavedBytes);
        Assert.Equal(stage1, rows["layer1.1"].SavedBytes);
        Assert.Equal(stage1, rows["layer2.0"].SavedBytes); // the first stage's output
        Assert.Equal(stage1 / 2, rows["layer3.0"].SavedBytes);
        Assert.Equal(stage1 / 4, rows["layer4.0"].SavedBytes);
        Assert.False(rows.ContainsKey("layer2.1")); // later stages: two blocks per segment
    }

    // segment=auto: one block per segment in the first stage of a spiking stream (a Sequential
    // of Spiking ResNet or SEW blocks), two basic blocks elsewhere and in a DaStage; segment=N
    // everywhere.
    [Theory]
    [InlineData("sew-resnet18", "min", 1, 2)]
    [InlineData("spiking-resnet18", "min", 1, 2)]
    [InlineData("danet-pre-resnet18", "min", 2, 2)]
    [InlineData("danet-post-resnet18", "min", 2, 2)]
    [InlineData("sew-resnet18", "min,segment=2", 2, 2)]
    [InlineData("sew-resnet18", "min,segment=1", 1, 1)]
    public void SegmentLengthPerStage(string name, string layout, int first, int second)
    {
        using var model = (ResNet)
            ModelRegistry.Create(
                name,
                new ModelOptions
                {
                    NumClasses = Classes,
                    Stem = Stem.Cifar,
                    Neuron = () => new LifNode(),
                    Memory = MemoryOptions.Parse(layout),
                }
            );
        static int Blocks(Layer stage) =>
            stage switch
            {
                DaStage da => da.SegmentBlocks,
                Sequential seq => seq.SegmentSteps,
                _ => throw new InvalidOperationException(stage.GetType().Name),
            };
        Assert.Equal(first, Blocks(model.Stages[0]));
        Assert.Equal(second, Blocks(model.Stages[1]));
        Assert.True(model.RecomputesStem);
    }

    // A stage of SEW ADD blocks fed with spikes, one block per segment: the boundaries keep the
    // spikes bit-packed and the spike counts (up to 2, then 3) as bytes, and the gradients, the
    // output and its count mark equal the plain stage's bit for bit. Without the mark (counts
    // unknown) the same boundary keeps float32.
    [Fact]
    public void CountStreamBoundaryKeepsBytesAndReplaysExactly()
    {
        static (List<float[]> Values, List<long> Kept, int Bound) Run(int segment, bool mark)
        {
            ulong seed = 11;
            ulong Next() => seed += 7;
            NeuronNode Neuron() => new LifNode(vThreshold: 0.4f);
            using var stage = new Sequential(
                new SewBlock(BlockKind.Basic, 4, 4, 1, Neuron, Next),
                new SewBlock(BlockKind.Basic, 4, 4, 1, Neuron, Next),
                new SewBlock(BlockKind.Basic, 4, 4, 1, Neuron, Next)
            );
            MemoryOptions.Lean.ApplyTo(stage);
            (stage.SegmentSteps, stage.PackSegmentInput) = (segment, true);
            using var sn = new LifNode(vThreshold: 0.3f);
            using var scope = TensorScope.Begin();
            var x = Tensor.Normal([3, 2, 4, 8, 8], 0.5f, 1f, seed: 20);
            x.RequiresGrad = true;
            var spikes = sn.Forward(x);
            Assert.True(spikes.IsBinary);
            var input = mark ? spikes : spikes * 1f; // a product carries no mark
            using var rec = GraphRecorder.Start();
            var y = stage.Forward(input);
            var kept = rec
                .Nodes.Where(n => n.Name == "recompute")
                .Select(n => n.SavedBytes)
                .ToList();
            using var w = Tensor.Normal([.. y.Shape.ToArray()], 0f, 1f, seed: 3);
            (y * w).Sum().Backward();
            var values = new List<float[]> { y.ToArray(), x.Grad!.ToArray() };
            values.AddRange(stage.Parameters().Select(p => p.Grad!.ToArray()));
            return (values, kept, y.CountBound);
        }
        const long numel = 3 * 2 * 4 * 8 * 8;
        var plain = Run(0, mark: true);
        Assert.Equal(4, plain.Bound); // spikes, then three ADDs of spikes
        var min = Run(1, mark: true);
        Assert.Equal([numel / 8, numel, numel], min.Kept);
        Assert.Equal(4, min.Bound);
        Assert.Equal(plain.Values.Count, min.Values.Count);
        for (var i = 0; i < plain.Values.Count; i++)
            Assert.True(plain.Values[i].SequenceEqual(min.Values[i]), $"value {i} differs");
        var unmarked = Run(1, mark: false);
        Assert.Equal([4 * numel, 4 * numel, 4 * numel], unmarked.Kept);
        Assert.Equal(0, unmarked.Bound);
        for (var i = 0; i < plain.Values.Count; i++)
            Assert.True(plain.Values[i].SequenceEqual(unmarked.Values[i]), $"value {i} differs");
    }

    // A multi-step neuron in a recomputed segment does not hold its last membrane after a
    // training call (every batch starts from rest); a call that would continue from it fails
    // with an error naming the fix, and after ResetState the stage runs again. Outside a
    // segment the state is kept as before.
    [Fact]
    public void NeuronsInASegmentKeepNoStateAfterATrainingCall()
    {
        ulong seed = 11;
        ulong Next() => seed += 7;
        NeuronNode Neuron() => new LifNode(vThreshold: 0.4f);
        using var stage = new Sequential(
            new SewBlock(BlockKind.Basic, 4, 4, 1, Neuron, Next),
            new SewBlock(BlockKind.Basic, 4, 4, 1, Neuron, Next)
        );
        MemoryOptions.Lean.ApplyTo(stage);
        var neurons = stage.NamedModules().Select(m => m.Module).OfType<FusedNeuronNode>().ToList();
        Assert.NotEmpty(neurons);
        using var scope = TensorScope.Begin();
        var x = Tensor.Normal([3, 2, 4, 8, 8], 0.5f, 1f, seed: 20);
        x.RequiresGrad = true;
        stage.Forward(x);
        Assert.All(neurons, n => Assert.NotNull(n.V)); // lean: kept
        stage.ResetState();
        stage.SegmentSteps = 2;
        var y = stage.Forward(x);
        Assert.All(neurons, n => Assert.Null(n.V));
        var e = Assert.Throws<InvalidOperationException>(() => stage.Forward(x));
        Assert.Contains("ResetState", e.Message, StringComparison.Ordinal);
        // The replay in backward is not affected, and the next batch runs after ResetState.
        y.Sum().Backward();
        Assert.NotNull(x.Grad);
        Assert.All(neurons, n => Assert.Null(n.V));
        stage.ResetState();
        stage.Forward(x);
        // Evaluation keeps the state (streaming inference), segments or not.
        stage.ResetState();
        stage.Eval();
        using (GradMode.NoGrad())
            stage.Forward(x);
        Assert.All(neurons, n => Assert.NotNull(n.V));
    }

    // In the min layout no multi-step neuron keeps its last membrane after a training call, the
    // last stage's (not recomputed) included; lean keeps every one.
    [Theory]
    [InlineData("lean")]
    [InlineData("min")]
    public void TheMinLayoutKeepsNoNeuronStateAfterATrainingCall(string layout)
    {
        using var model = ModelRegistry.Create(
            "sew-resnet18",
            new ModelOptions
            {
                NumClasses = Classes,
                Stem = Stem.Cifar,
                Neuron = () => new LifNode(vThreshold: 0.5f),
                Memory = MemoryOptions.Parse(layout),
                Seed = 3,
            }
        );
        var neurons = model
            .NamedModules()
            .Select(m => m.Module)
            .OfType<FusedNeuronNode>()
            .Where(n => n.StepMode == StepMode.Multi)
            .ToList();
        Assert.True(neurons.Count >= 17, $"{neurons.Count} multi-step neurons");
        using var scope = TensorScope.Begin();
        var x = Tensor.Normal([2, 2, 3, 16, 16], 0f, 2f, seed: 5);
        model.Forward(x);
        if (layout == "lean")
        {
            Assert.All(neurons, n => Assert.NotNull(n.V));
            return;
        }
        Assert.All(neurons, n => Assert.Null(n.V));
        var e = Assert.Throws<InvalidOperationException>(() => model.Forward(x));
        Assert.Contains("ResetState", e.Message, StringComparison.Ordinal);
        model.ResetState();
        model.Forward(x);
    }

    // A stage of SEW blocks with dropout between them and PLIF neurons, recomputed in segments
    // that cut through the dropouts; two steps, so the second replays dropout calls 2 and 3.
    [Fact]
    public void DropoutAndPlifReplayTheFirstPass()
    {
        static (List<float[]> Grads, List<float[]> Outputs, List<float[]> Buffers) Run(int segment)
        {
            ulong seed = 11;
            ulong Next() => seed += 7;
            NeuronNode Neuron() => new PlifNode(initTau: 1.5f, vThreshold: 0.4f);
            using var stage = new Sequential(
                new SewBlock(BlockKind.Basic, 4, 8, 2, Neuron, Next),
                new Dropout(0.3f, seed: 5),
                new SewBlock(BlockKind.Basic, 8, 8, 1, Neuron, Next),
                new Dropout(0.2f, seed: 9),
                new SewBlock(BlockKind.Basic, 8, 8, 1, Neuron, Next)
            );
            MemoryOptions.Lean.ApplyTo(stage);
            Assert.Equal(0, stage.SegmentSteps); // not a stage of blocks only: set by hand
            stage.SegmentSteps = segment;
            stage.PackSegmentInput = true;
            var grads = new List<float[]>();
            var outputs = new List<float[]>();
            for (var step = 0; step < 2; step++)
            {
                using var scope = TensorScope.Begin();
                stage.ResetState();
                stage.ZeroGrad();
                var x = Tensor.Normal([3, 2, 4, 8, 8], 0.5f, 1f, seed: (ulong)(20 + step));
                x.RequiresGrad = true;
                var y = stage.Forward(x);
                using var w = Tensor.Normal([.. y.Shape.ToArray()], 0f, 1f, seed: 3);
                (y * w).Sum().Backward();
                outputs.Add(y.ToArray());
                grads.Add(x.Grad!.ToArray());
                grads.AddRange(stage.Parameters().Select(p => p.Grad!.ToArray()));
            }
            return (grads, outputs, [.. stage.NamedBuffers().Select(b => b.Tensor.ToArray())]);
        }
        var plain = Run(0);
        foreach (var segment in new[] { 1, 2, 3 })
        {
            var min = Run(segment);
            Assert.Equal(plain.Outputs.Count, min.Outputs.Count);
            for (var i = 0; i < plain.Outputs.Count; i++)
                Assert.True(
                    plain.Outputs[i].SequenceEqual(min.Outputs[i]),
                    $"segment {segment}: output {i}"
                );
            Assert.Equal(plain.Grads.Count, min.Grads.Count);
            for (var i = 0; i < plain.Grads.Count; i++)
                Assert.True(
                    plain.Grads[i].SequenceEqual(min.Grads[i]),
                    $"segment {segment}: gradient {i}"
                );
            for (var i = 0; i < plain.Buffers.Count; i++)
                Assert.True(
                    plain.Buffers[i].SequenceEqual(min.Buffers[i]),
                    $"segment {segment}: buffer {i}"
                );
        }
    }
}

/// <summary>
/// The shape-only walk in a layout predicts, byte for byte, what a training step in that layout
/// keeps (the measured <see cref="SavedBytesReport"/>), on every family at depth 18.
/// </summary>
public class SavedBytesPredictionTests
{
    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        foreach (var f in MemoryLayoutTests.Families)
        {
            foreach (
                var layout in new[]
                {
                    "standard",
                    "lean",
                    "min",
                    "min,segment=2",
                    "min,recompute_stages=2,segment=1",
                }
            )
                data.Add(f, layout);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void PredictionEqualsMeasurement(string family, string layout)
    {
        var memory = MemoryOptions.Parse(layout);
        var measured = MinLayoutTests.Step(family, "lif", memory).Report.SavedBytes;
        var predicted = ModelInfo.PredictSavedBytes(
            family,
            new ModelOptions
            {
                NumClasses = 10,
                Stem = Stem.Cifar,
                Neuron = () => new LifNode(vThreshold: 0.5f),
                Memory = memory,
            },
            (3, 32, 32),
            4,
            2
        );
        Assert.Equal(measured, predicted);
    }
}

/// <summary><c>--memory-budget</c>: sizes, the ladder of plans, the choice and the error.</summary>
public class MemoryBudgetTests
{
    private static readonly ModelOptions Options = new()
    {
        NumClasses = 10,
        Stem = Stem.Cifar,
        Neuron = () => new LifNode(),
    };

    [Theory]
    [InlineData("6GiB", 6L << 30)]
    [InlineData("6 gib", 6L << 30)]
    [InlineData("1.5GiB", 3L << 29)]
    [InlineData("512MiB", 512L << 20)]
    [InlineData("100KiB", 102400)]
    [InlineData("123B", 123)]
    [InlineData("123", 123)]
    public void ParsesSizes(string text, long bytes) =>
        Assert.Equal(bytes, MemoryBudget.ParseBytes(text));

    [Theory]
    [InlineData("6GB")]
    [InlineData("0MiB")]
    [InlineData("-1GiB")]
    [InlineData("GiB")]
    [InlineData("six")]
    public void RejectsBadSizesNamingThem(string text)
    {
        var e = Assert.Throws<ArgumentException>(() => MemoryBudget.ParseBytes(text));
        Assert.Contains("--memory-budget", e.Message);
        Assert.Contains($"'{text}'", e.Message);
    }

    [Fact]
    public void PicksTheFirstPlanOfTheLadderThatFits()
    {
        const string model = "danet-pre-resnet18";
        var ladder = MemoryBudget.Ladder(4);
        Assert.Equal(
            [
                "standard",
                "lean",
                "min,recompute_stages=1",
                "min,recompute_stages=2",
                "min",
                "min,recompute_stages=all",
            ],
            ladder.Select(p => p.ToString())
        );
        var bytes = ladder
            .Select(p =>
                ModelInfo.PredictSavedBytes(model, Options with { Memory = p }, (3, 32, 32), 4, 8)
            )
            .ToArray();
        for (var i = 1; i < bytes.Length; i++)
            Assert.True(
                bytes[i] < bytes[i - 1],
                $"plan {ladder[i]} keeps {bytes[i]} B, {ladder[i - 1]} {bytes[i - 1]} B"
            );
        for (var i = 0; i < ladder.Count; i++)
        {
            // Exactly the plan's bytes fits it; one byte less needs the next plan.
            var (plan, saved) = MemoryBudget.Choose(model, Options, (3, 32, 32), 4, 8, bytes[i]);
            Assert.Equal(ladder[i], plan);
            Assert.Equal(bytes[i], saved);
            if (i + 1 < ladder.Count)
                Assert.Equal(
                    ladder[i + 1],
                    MemoryBudget.Choose(model, Options, (3, 32, 32), 4, 8, bytes[i] - 1).Plan
                );
        }
        var e = Assert.Throws<ArgumentException>(() =>
            MemoryBudget.Choose(model, Options, (3, 32, 32), 4, 8, bytes[^1] - 1)
        );
        Assert.Contains("--memory-budget", e.Message);
        Assert.Contains($"({bytes[^1]} B)", e.Message);
        Assert.Contains("min", e.Message);
    }

    [Fact]
    public void MinRecomputesEveryStageButTheLast()
    {
        using (Layer.ShapeOnly())
        using (
            var model = ModelRegistry.Create(
                "sew-resnet18",
                new ModelOptions
                {
                    Stem = Stem.Cifar,
                    Neuron = () => new LifNode(),
                    Memory = MemoryOptions.Min,
                }
            )
        )
        {
            var stages = MemoryOptions.Stages(model);
            Assert.Equal(4, stages.Count);
            Assert.Equal([1, 2, 2, 0], stages.Select(s => ((Sequential)s.Stage).SegmentSteps));
            Assert.True(((ResNet)model).RecomputesStem);
        }
        Assert.Equal(3, MemoryOptions.Min.RecomputedStages(4));
        Assert.Equal(1, MemoryOptions.Min.RecomputedStages(2));
        Assert.Equal(1, MemoryOptions.Min.RecomputedStages(1));
        Assert.Equal(0, MemoryOptions.Min.RecomputedStages(0));
        var all = MemoryOptions.Min with { RecomputeStages = MemoryOptions.AllStages };
        Assert.Equal(4, all.RecomputedStages(4));
        Assert.Equal(2, (MemoryOptions.Min with { RecomputeStages = 2 }).RecomputedStages(4));
        Assert.Equal(0, MemoryOptions.Lean.RecomputedStages(4));
    }

    [Fact]
    public void MinTextFormRoundTrips()
    {
        foreach (
            var text in new[]
            {
                "min",
                "min,segment=1",
                "min,recompute_stages=2",
                "lean",
                "standard",
                "min,state=bf16",
                "min,recompute_stages=all",
            }
        )
            Assert.Equal(text, MemoryOptions.Parse(text).ToString());
        Assert.Equal(MemoryOptions.Min, MemoryOptions.Parse("lean,recompute_stages=all_but_last"));
        Assert.Equal(
            MemoryOptions.Min with
            {
                RecomputeStages = MemoryOptions.AllStages,
            },
            MemoryOptions.Parse("lean,recompute_stages=all")
        );
        var e = Assert.Throws<ArgumentException>(() => MemoryOptions.Parse("min,segment=0"));
        Assert.Contains("segment", e.Message);
    }
}
