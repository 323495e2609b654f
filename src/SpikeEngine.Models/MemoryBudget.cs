using System.Globalization;
using SpikeEngine.Nn;

namespace SpikeEngine.Models;

/// <summary>
/// Budget mode (<c>--memory-budget 6GiB</c>): the plan with the least recomputation whose predicted
/// saved bytes (<see cref="ModelInfo.PredictSavedBytes"/>, a shape-only walk) fit the budget. The
/// ladder, cheapest first: <c>standard</c>, <c>lean</c> (one extra conv per conv → BN pair without
/// a neuron), then <c>min</c> recomputing the first 1, 2, ... stages up to all of them (<c>min</c>
/// itself recomputes all but the last; each recomputed block costs one
/// extra forward; the first stages hold the largest activations, so they go first).
/// </summary>
public static class MemoryBudget
{
    /// <summary>The plans of a model with <paramref name="stages"/> stages, least recomputation first.</summary>
    public static IReadOnlyList<MemoryOptions> Ladder(int stages)
    {
        var plans = new List<MemoryOptions> { MemoryOptions.Standard, MemoryOptions.Lean };
        for (var k = 1; k <= stages; k++)
            plans.Add(
                MemoryOptions.Min with
                {
                    RecomputeStages =
                        k == stages ? MemoryOptions.AllStages
                        : k == stages - 1 ? MemoryOptions.AllButLastStage
                        : k,
                }
            );
        return plans;
    }

    /// <summary>
    /// The first plan of the <see cref="Ladder"/> of <paramref name="name"/> whose predicted saved
    /// bytes at <paramref name="timeSteps"/> and <paramref name="batch"/> are at most
    /// <paramref name="budgetBytes"/>, with that prediction; when none fits, an
    /// <see cref="ArgumentException"/> naming the budget and the smallest plan's bytes.
    /// </summary>
    public static (MemoryOptions Plan, long SavedBytes) Choose(
        string name,
        ModelOptions options,
        (int Channels, int Height, int Width) input,
        int timeSteps,
        int batch,
        long budgetBytes
    )
    {
        ArgumentNullException.ThrowIfNull(options);
        if (budgetBytes <= 0)
            throw new ArgumentException(
                $"--memory-budget: must be positive, got {budgetBytes} B",
                nameof(budgetBytes)
            );
        int stages;
        using (Layer.ShapeOnly())
        using (
            var model = ModelRegistry.Get(name).Create(options with { InChannels = input.Channels })
        )
            stages = MemoryOptions.Stages(model).Count;
        (MemoryOptions Plan, long Bytes) smallest = default;
        foreach (var plan in Ladder(stages))
        {
            var bytes = ModelInfo.PredictSavedBytes(
                name,
                options with
                {
                    Memory = plan,
                },
                input,
                timeSteps,
                batch
            );
            if (bytes <= budgetBytes)
                return (plan, bytes);
            if (smallest.Bytes == 0 || bytes < smallest.Bytes)
                smallest = (plan, bytes);
        }
        throw new ArgumentException(
            $"--memory-budget {FormatBytes(budgetBytes)}: no plan of {name} at T={timeSteps}, batch {batch} fits; the smallest, {smallest.Plan}, keeps {FormatBytes(smallest.Bytes)} ({smallest.Bytes} B) for backward",
            nameof(budgetBytes)
        );
    }

    /// <summary>
    /// Parses a size: a number followed by B, KiB, MiB or GiB (powers of 1024; case-insensitive,
    /// spaces allowed), <c>6GiB</c>, <c>1.5 GiB</c>, <c>512MiB</c>; a bare number is bytes.
    /// </summary>
    public static long ParseBytes(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var t = text.Trim();
        var units = new (string Suffix, long Scale)[]
        {
            ("kib", 1L << 10),
            ("mib", 1L << 20),
            ("gib", 1L << 30),
            ("b", 1),
        };
        long scale = 1;
        foreach (var (suffix, s) in units)
        {
            if (t.EndsWith(suffix, StringComparison.OrdinalIgnoreCase))
            {
                scale = s;
                t = t[..^suffix.Length].TrimEnd();
                break;
            }
        }
        if (
            !double.TryParse(
                t,
                NumberStyles.AllowDecimalPoint,
                CultureInfo.InvariantCulture,
                out var v
            )
            || !(v > 0)
            || v * scale >= long.MaxValue
        )
            throw new ArgumentException(
                $"--memory-budget: expected a positive size such as 6GiB, 512MiB, 100KiB or a number of bytes, got '{text}'",
                nameof(text)
            );
        return (long)Math.Floor(v * scale);
    }

    /// <summary>Bytes as GiB, MiB or KiB with two decimals.</summary>
    public static string FormatBytes(long bytes) =>
        bytes >= 1L << 30
            ? (bytes / (double)(1L << 30)).ToString("F2", CultureInfo.InvariantCulture) + " GiB"
        : bytes >= 1L << 20
            ? (bytes / (double)(1L << 20)).ToString("F2", CultureInfo.InvariantCulture) + " MiB"
        : (bytes / 1024.0).ToString("F2", CultureInfo.InvariantCulture) + " KiB";
}
