using SpikeEngine.Models;
using SpikeEngine.Nn;
using SpikeEngine.Training.Checkpoints;
using SpikeEngine.Training.Metrics;

namespace SpikeEngine.Training.Tests;

public sealed class TrainerTests
{
    private static readonly SyntheticDataset Train = new(96, seed: 1);
    private static readonly SyntheticDataset Test = new(32, seed: 2);

    private static TrainerOptions Options(string dir, int epochs = 2) =>
        new()
        {
            Epochs = epochs,
            BatchSize = 16,
            TimeSteps = 2,
            LearningRate = 0.01f,
            Optimizer = "adamw",
            WarmupSteps = 2,
            Seed = 5,
            OutputDirectory = dir,
            Workers = 1,
            Keep = 10,
        };

    private static Module Model() =>
        ModelRegistry.Create(
            "danet-mnist-tiny",
            ModelOptions.ForInput(4, Train.Shape.Channels, Train.Shape.Height, 5)
        );

    private static TrainResult RunOnce(TrainerOptions o, string? resume = null)
    {
        using var model = Model();
        return new Trainer(o).Run(
            model,
            Train,
            Test,
            resume,
            TestContext.Current.CancellationToken
        );
    }

    private static void AssertSameLearning(EpochMetrics a, EpochMetrics b)
    {
        Assert.Equal(a.Epoch, b.Epoch);
        Assert.Equal(a.TrainLoss, b.TrainLoss);
        Assert.Equal(a.TrainAcc, b.TrainAcc);
        Assert.Equal(a.TestAcc, b.TestAcc);
        Assert.Equal(a.TestLoss, b.TestLoss);
        Assert.Equal(a.FiringRates, b.FiringRates);
    }

    [Fact]
    public void CheckpointsRecordTheModelNameAndTheMemoryOptions()
    {
        var o = Options(Temp.Dir(), epochs: 1) with
        {
            ModelName = "danet-mnist-tiny",
            Memory = MemoryOptions.Parse("lean,state=bf16"),
        };
        var result = RunOnce(o);
        var ckpt = CheckpointStore.Load(result.LastCheckpoint!);
        Assert.Equal(MemoryOptions.Lean with { StateDType = DType.BFloat16 }, ckpt.State.Memory);
        Assert.Equal("danet-mnist-tiny", ckpt.State.Run["model"]);
        Assert.Contains("\"memory\":\"lean,state=bf16\"", File.ReadAllText(result.LastCheckpoint!));
        var other = Assert.Throws<CheckpointException>(() =>
            RunOnce(o with { ModelName = "danet-mnist", Epochs = 2 }, result.LastCheckpoint)
        );
        Assert.Contains("is of model 'danet-mnist-tiny', not 'danet-mnist'", other.Message);
    }

    [Fact]
    public void TrainingWithTheMinLayoutLearnsExactlyAsLean()
    {
        TrainResult Run(MemoryOptions memory)
        {
            using var model = ModelRegistry.Create(
                "danet-mnist-tiny",
                ModelOptions.ForInput(4, Train.Shape.Channels, Train.Shape.Height, 5, memory)
            );
            return new Trainer(Options(Temp.Dir()) with { Memory = memory }).Run(
                model,
                Train,
                Test,
                null,
                TestContext.Current.CancellationToken
            );
        }
        var lean = Run(MemoryOptions.Lean);
        var min = Run(MemoryOptions.Min);
        Assert.Equal(2, min.Epochs.Count);
        AssertSameLearning(lean.Epochs[0], min.Epochs[0]);
        AssertSameLearning(lean.Epochs[1], min.Epochs[1]);
        Assert.Equal(MemoryOptions.Min, CheckpointStore.Load(min.LastCheckpoint!).State.Memory);
    }

    [Fact]
    public void ResumedAfterEpochOneReproducesEpochTwo()
    {
        var full = RunOnce(Options(Temp.Dir()));
        Assert.Equal(2, full.Epochs.Count);
        Assert.False(full.Stopped);

        var dir = Temp.Dir();
        var stopped = RunOnce(Options(dir) with { StopAfterSteps = 6 }); // 6 steps = one epoch
        Assert.True(stopped.Stopped);
        Assert.Single(stopped.Epochs);
        var resumed = RunOnce(Options(dir), resume: "latest");
        Assert.Equal(2, resumed.Epochs.Count);
        AssertSameLearning(full.Epochs[0], resumed.Epochs[0]);
        AssertSameLearning(full.Epochs[1], resumed.Epochs[1]);
        Assert.Equal(2, MetricsLog.Read(Path.Combine(dir, "metrics.jsonl")).Count);
        Assert.True(new FileInfo(Path.Combine(dir, "curves.png")).Length > 1000);
    }

    [Fact]
    public void ResumedMidEpochFromAStepCheckpointReproducesTheRun()
    {
        var full = RunOnce(Options(Temp.Dir()));
        var dir = Temp.Dir();
        RunOnce(Options(dir) with { CheckpointEvery = 4, StopAfterSteps = 9 }); // last checkpoint: step 8 = epoch 2, step 2
        var latest = new CheckpointStore(Path.Combine(dir, "checkpoints")).List()[^1];
        Assert.EndsWith("ckpt-e0001-s000002.json", latest);
        var resumed = RunOnce(Options(dir) with { CheckpointEvery = 4 }, resume: "latest");
        AssertSameLearning(full.Epochs[1], resumed.Epochs[^1]);
    }

    [Fact]
    public void NonFiniteGradientStopsNamingTheParameter()
    {
        using var model = Model();
        var (name, p) = model.NamedParameters().First();
        using (GradMode.NoGrad())
            p.Fill_(float.NaN);
        var e = Assert.Throws<NonFiniteException>(() =>
            new Trainer(Options(Temp.Dir(), 1)).Run(
                model,
                Train,
                Test,
                cancel: TestContext.Current.CancellationToken
            )
        );
        Assert.Contains($"parameter '{name}'", e.Message);
        Assert.Contains("--nonfinite skip", e.Message);
    }

    [Fact]
    public void NonFiniteGradientIsSkippedAndCountedUnderSkip()
    {
        using var model = Model();
        var (_, p) = model.NamedParameters().First();
        using (GradMode.NoGrad())
            p.Fill_(float.NaN);
        var r = new Trainer(Options(Temp.Dir(), 1) with { NonFinite = NonFinitePolicy.Skip }).Run(
            model,
            Train,
            Test,
            cancel: TestContext.Current.CancellationToken
        );
        Assert.Equal(6, r.Epochs[0].SkippedSteps);
    }

    [Fact]
    public void ResumeOfACorruptCheckpointIsRefusedAndThePreviousOneWorks()
    {
        var dir = Temp.Dir();
        RunOnce(Options(dir) with { CheckpointEvery = 4, StopAfterSteps = 9 });
        var list = new CheckpointStore(Path.Combine(dir, "checkpoints")).List();
        var newest = list[^1].Replace(".json", ".safetensors");
        var bytes = File.ReadAllBytes(newest);
        bytes[^1] ^= 1;
        File.WriteAllBytes(newest, bytes);
        var e = Assert.Throws<CheckpointException>(() => RunOnce(Options(dir), resume: "latest"));
        Assert.Contains(Path.GetFileName(newest), e.Message);
        Assert.Contains("--resume-from", e.Message);
        var r = RunOnce(Options(dir), resume: list[^2]);
        Assert.Equal(2, r.Epochs.Count);
        Assert.Equal(bytes, File.ReadAllBytes(newest));
    }
}
