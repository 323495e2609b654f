using SpikeEngine.Data;
using SpikeEngine.Models;
using SpikeEngine.Training;
using SpikeEngine.Training.Checkpoints;

namespace SpikeEngine.Cuda.Tests;

/// <summary>
/// The whole training path on the device: <see cref="Trainer"/> runs danet-mnist-tiny for a few
/// steps with <c>Device = cuda:0</c> and with the CPU from the same seed (model moved with
/// <c>Module.To</c>, batches uploaded, fused optimizer step, clipping and the non-finite scan on
/// the device, accuracy counted there, checkpoint read back); per-step losses, the test loss and
/// the final weights agree within tolerance.
/// </summary>
public sealed class TrainingParityTests
{
    /// <summary>Class c lights up quadrant c of an 8×8 image, plus noise (Training.Tests' synthetic set).</summary>
    private sealed class Quadrants(int count, int seed) : IDataset
    {
        public int Count => count;
        public SampleShape Shape => new(1, 8, 8);
        public int NumClasses => 4;

        public int ReadSample(int index, Span<float> destination, ref SampleRandom random)
        {
            var label = (index * 7 + seed) % 4;
            var rng = new Random(index * 31 + seed);
            for (var y = 0; y < 8; y++)
            {
                for (var x = 0; x < 8; x++)
                {
                    var q = y / 4 * 2 + x / 4;
                    destination[y * 8 + x] = (q == label ? 1.5f : 0f) + rng.NextSingle() * 0.8f;
                }
            }
            return label;
        }
    }

    private sealed record Run(
        List<double> StepLosses,
        EvalResult Test,
        Dictionary<string, float[]> Weights,
        string Checkpoint
    );

    private static Run Train(Device device, string optimizer)
    {
        var dir = Path.Combine(
            Path.GetTempPath(),
            "spike-cuda-train",
            Guid.NewGuid().ToString("N")
        );
        var options = new TrainerOptions
        {
            Epochs = 1,
            BatchSize = 16,
            TimeSteps = 2,
            LearningRate = 0.01f,
            Optimizer = optimizer,
            Nesterov = optimizer == "sgd",
            WeightDecay = 1e-3f,
            WarmupSteps = 2,
            ClipGradNorm = 1.0,
            Seed = 5,
            OutputDirectory = dir,
            Workers = 1,
            Device = device,
        };
        var losses = new List<double>();
        var train = new Quadrants(80, 1);
        var test = new Quadrants(32, 2);
        using var model = ModelRegistry.Create(
            "danet-mnist-tiny",
            ModelOptions.ForInput(4, train.Shape.Channels, train.Shape.Height, 5)
        );
        var result = new Trainer(options) { OnStep = p => losses.Add(p.Loss) }.Run(
            model,
            train,
            test,
            cancel: TestContext.Current.CancellationToken
        );
        Assert.All(model.NamedTensors(), s => Assert.Equal(device, s.Tensor.Device));
        var eval = Trainer.Evaluate(
            model,
            test,
            new EvalOptions(16, 2, new DirectEncoder(), 1, device)
        );
        var weights = model.NamedTensors().ToDictionary(s => s.Name, s => s.Tensor.ToArray());
        return new Run(losses, eval, weights, result.LastCheckpoint!);
    }

    [Theory]
    [InlineData("adamw")]
    [InlineData("sgd")]
    public void Danet_mnist_tiny_trains_on_cuda_like_on_the_cpu(string optimizer)
    {
        CudaTestBackend.Require();
        var cpu = Train(Device.Cpu, optimizer);
        var before = Kernels.KernelLauncher.ThreadLaunchCount;
        var gpu = Train(Device.Cuda(0), optimizer);
        Assert.True(Kernels.KernelLauncher.ThreadLaunchCount > before, "the CUDA path did not run");
        Requirements.Log(
            $"danet-mnist-tiny {optimizer}, 5 steps: running loss CPU [{string.Join(", ", cpu.StepLosses.Select(l => l.ToString("G7")))}], "
                + $"CUDA [{string.Join(", ", gpu.StepLosses.Select(l => l.ToString("G7")))}]; "
                + $"test loss CPU {cpu.Test.Loss:G7}, CUDA {gpu.Test.Loss:G7}; top-1 CPU {cpu.Test.Top1}, CUDA {gpu.Test.Top1}"
        );
        Assert.Equal(5, cpu.StepLosses.Count);
        Assert.Equal(cpu.StepLosses.Count, gpu.StepLosses.Count);
        for (var i = 0; i < cpu.StepLosses.Count; i++)
        {
            double c = cpu.StepLosses[i],
                g = gpu.StepLosses[i];
            Assert.True(
                Math.Abs(c - g) <= 1e-4 + 2e-3 * Math.Abs(c),
                $"step {i + 1}: running loss CPU {c:R}, CUDA {g:R}"
            );
        }
        Assert.True(
            Math.Abs(cpu.Test.Loss - gpu.Test.Loss) <= 1e-3 + 2e-2 * Math.Abs(cpu.Test.Loss),
            $"test loss: CPU {cpu.Test.Loss:R}, CUDA {gpu.Test.Loss:R}"
        );
        foreach (var (name, expected) in cpu.Weights)
        {
            var actual = gpu.Weights[name];
            double diff = 0,
                norm = 0;
            for (var i = 0; i < expected.Length; i++)
            {
                diff += Math.Pow((double)actual[i] - expected[i], 2);
                norm += (double)expected[i] * expected[i];
            }
            var rel = Math.Sqrt(diff / Math.Max(norm, 1e-30));
            Assert.True(rel <= 2e-2, $"{name}: relative L2 error {rel:G3} after training");
        }
        // the checkpoint written from device tensors holds the device weights
        var ckpt = CheckpointStore.Load(gpu.Checkpoint);
        foreach (var a in ckpt.Model)
            Assert.Equal(gpu.Weights[a.Name], a.Data);
    }
}
