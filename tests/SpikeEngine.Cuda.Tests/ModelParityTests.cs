using SpikeEngine.Models;
using SpikeEngine.Nn;

namespace SpikeEngine.Cuda.Tests;

/// <summary>
/// One training step of a whole model on CUDA and on the CPU from the same weights and inputs:
/// the loss and every parameter gradient agree. Spiking nets amplify rounding differences where a
/// membrane sits on the threshold (one flipped spike changes later layers), so gradients are
/// compared by relative error of the whole tensor, and the worst element is reported.
/// </summary>
public sealed class ModelParityTests
{
    private const int T = 4,
        Batch = 4,
        Classes = 10;

    private static ResNet Build() =>
        (ResNet)
            ModelRegistry.Create(
                "danet-pre-resnet18",
                new ModelOptions
                {
                    NumClasses = Classes,
                    Stem = Stem.Cifar,
                    Neuron = () => new LifNode(),
                    Seed = 7,
                }
            );

    private static (float Loss, Dictionary<string, float[]> Grads) Step(ResNet model, Device device)
    {
        using var scope = TensorScope.Begin();
        var x = Tensor.Normal([T, Batch, 3, 32, 32], 0.5f, 1f, seed: 11, device: device);
        var labels = Tensor.FromInt32([1, 4, 7, 9], [Batch], device);
        var logits = model.Forward(x).Mean([0]);
        var loss = Ops.CrossEntropy(logits, labels, 0.1f);
        loss.Backward();
        var grads = model
            .NamedParameters()
            .ToDictionary(p => p.Name, p => p.Tensor.Grad!.ToArray());
        var value = loss.Item();
        model.ZeroGrad();
        model.ResetState();
        return (value, grads);
    }

    [Fact]
    public void Danet_pre_resnet18_training_step_matches_the_cpu()
    {
        CudaTestBackend.Require();
        using var cpu = Build();
        using var gpu = Build();
        CudaBackend.MoveInPlace(
            gpu.NamedParameters()
                .Select(p => p.Tensor)
                .Concat(gpu.NamedBuffers().Select(b => b.Tensor)),
            Device.Cuda(0)
        );
        var (cpuLoss, cpuGrads) = Step(cpu, Device.Cpu);
        var before = Kernels.KernelLauncher.ThreadLaunchCount;
        var (gpuLoss, gpuGrads) = Step(gpu, Device.Cuda(0));
        Assert.True(Kernels.KernelLauncher.ThreadLaunchCount > before, "the CUDA path did not run");
        Requirements.Log(
            $"danet-pre-resnet18 T={T} batch {Batch}: loss CPU {cpuLoss:R}, CUDA {gpuLoss:R}"
        );
        Assert.True(
            Math.Abs(cpuLoss - gpuLoss) <= 1e-4f + 1e-3f * Math.Abs(cpuLoss),
            $"loss: CPU {cpuLoss:R}, CUDA {gpuLoss:R}"
        );
        var failures = new List<string>();
        foreach (var (name, expected) in cpuGrads)
        {
            var actual = gpuGrads[name];
            double diff = 0,
                norm = 0,
                worst = -1;
            var worstAt = 0;
            for (var i = 0; i < expected.Length; i++)
            {
                var d = (double)actual[i] - expected[i];
                diff += d * d;
                norm += (double)expected[i] * expected[i];
                if (Math.Abs(d) > worst)
                    (worst, worstAt) = (Math.Abs(d), i);
            }
            var rel = Math.Sqrt(diff) / Math.Max(Math.Sqrt(norm), 1e-12);
            if (!(rel <= 2e-2))
                failures.Add(
                    $"{name}: relative error {rel:E2}; worst index {worstAt}: CPU {expected[worstAt]:R}, CUDA {actual[worstAt]:R}"
                );
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }
}
