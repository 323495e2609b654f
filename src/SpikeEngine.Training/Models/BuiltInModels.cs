namespace SpikeEngine.Training.Models;

/// <summary>The models registered with <see cref="ModelCatalog"/> at first use.</summary>
internal static class BuiltInModels
{
    public static void Register() { }
}
