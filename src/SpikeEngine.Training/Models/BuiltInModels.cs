using SpikeEngine.Models;
using SpikeEngine.Nn;

namespace SpikeEngine.Training.Models;

/// <summary>The models registered with <see cref="ModelCatalog"/> at first use.</summary>
internal static class BuiltInModels
{
    public static void Register()
    {
        ModelCatalog.Register(
            new ModelEntry(
                "danet-mnist",
                "narrow pre-activation DANet for 28×28 inputs: 3×3 stem (16) at 28×28, DA stages of 16 (14×14) and 32 (7×7) channels, one block each",
                (k, input, seed) =>
                    DanetMnist.Create("danet-mnist", k, input, seed, [16, 16, 32], [0, 1, 1])
            )
        );
        ModelCatalog.Register(
            new ModelEntry(
                "danet-mnist-tiny",
                "smallest DA network (stem 8, one stage of 8 with one block): tests and smoke runs",
                (k, input, seed) => DanetMnist.Create("danet-mnist-tiny", k, input, seed, [8], [1])
            )
        );
        // The model zoo of SpikeEngine.Models, with LIF neurons (τ = 2, hard reset, detach_reset)
        // and the CIFAR stem for inputs up to 64 px.
        foreach (var e in ModelRegistry.All)
        {
            var entry = e;
            ModelCatalog.Register(
                new Training.Models.ModelEntry(
                    entry.Name,
                    entry.Description,
                    (k, input, seed) =>
                    {
                        var net = entry.Create(
                            new ModelOptions
                            {
                                NumClasses = k,
                                InChannels = input.Channels,
                                Stem = input.Height <= 64 ? Stem.Cifar : Stem.ImageNet,
                                Neuron = () => new LifNode(detachReset: true),
                                Seed = seed,
                            }
                        );
                        return new ClassifierModel(
                            entry.Name,
                            net,
                            net.Forward,
                            () => FiringStats.Collect(net)
                        );
                    }
                )
            );
        }
    }
}
