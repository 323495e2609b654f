using SpikeEngine.Data;
using SpikeEngine.Models;

namespace SpikeEngine.Training.Tests;

/// <summary>
/// Training learns: a few hundred CPU steps on a task the test generates, then held-out accuracy
/// above a bound that the same net cannot reach untrained (its weights as initialised).
/// </summary>
public sealed class LearningTests
{
    /// <summary>
    /// 8×8 images of one bar of 5 pixels at a random place: horizontal, vertical, diagonal or
    /// anti-diagonal (the label), on uniform noise. Every class has the same mean brightness and the
    /// bar can be anywhere, so no pixel and no global statistic gives the label away: the net must
    /// learn oriented filters.
    /// </summary>
    private sealed class BarsDataset(int count, int seed) : IDataset
    {
        public int Count => count;
        public SampleShape Shape => new(1, 8, 8);
        public int NumClasses => 4;

        public int ReadSample(int index, Span<float> destination, ref SampleRandom random)
        {
            var rng = new Random(seed * 100_003 + index);
            var label = index % 4;
            for (var i = 0; i < 64; i++)
                destination[i] = (float)rng.NextDouble() * 0.5f;
            var (dy, dx) = label switch
            {
                0 => (0, 1),
                1 => (1, 0),
                2 => (1, 1),
                _ => (1, -1),
            };
            var y0 = rng.Next(0, dy == 0 ? 8 : 4);
            var x0 = dx switch
            {
                0 => rng.Next(0, 8),
                1 => rng.Next(0, 4),
                _ => rng.Next(4, 8),
            };
            for (var k = 0; k < 5; k++)
                destination[(y0 + k * dy) * 8 + x0 + k * dx] = 1f;
            return label;
        }
    }

    [Fact]
    public void HeldOutAccuracyRisesFarAboveTheUntrainedNet()
    {
        var train = new BarsDataset(512, seed: 1);
        var test = new BarsDataset(256, seed: 2); // other images: held out
        using var model = ModelRegistry.Create(
            "danet-mnist-tiny",
            ModelOptions.ForInput(4, train.Shape.Channels, train.Shape.Height, 5)
        );
        // The same net before any update (chance is 0.25).
        var untrained = Trainer
            .Evaluate(
                model,
                test,
                new EvalOptions(64, TimeSteps: 2, new DirectEncoder(), 1, Device.Cpu)
            )
            .Top1;
        var options = new TrainerOptions
        {
            Epochs = 10, // 512 / 16 = 32 steps per epoch: 320 steps
            BatchSize = 16,
            TimeSteps = 2,
            LearningRate = 0.01f,
            Optimizer = "adamw",
            WarmupSteps = 10,
            Seed = 3,
            OutputDirectory = Temp.Dir(),
            Workers = 1,
        };
        var result = new Trainer(options).Run(
            model,
            train,
            test,
            null,
            TestContext.Current.CancellationToken
        );
        var trained = result.Epochs[^1].TestAcc;
        TestContext.Current.TestOutputHelper?.WriteLine(
            $"held-out accuracy: untrained {untrained:F3}, per epoch {string.Join(", ", result.Epochs.Select(e => e.TestAcc.ToString("F3", System.Globalization.CultureInfo.InvariantCulture)))}"
        );
        Assert.True(untrained < 0.5, $"untrained net: held-out accuracy {untrained:F3}");
        Assert.True(
            trained >= 0.9,
            $"trained net: held-out accuracy {trained:F3} (untrained {untrained:F3})"
        );
    }
}
