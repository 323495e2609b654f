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
    }
}
