namespace SpikeEngine.Data;

/// <summary>Settings of a <see cref="DataLoader"/>.</summary>
public sealed record DataLoaderOptions
{
    /// <summary>Samples per batch (N); at least 1.</summary>
    public required int BatchSize { get; init; }

    /// <summary>Visit samples in a seeded random order that changes every epoch (training); false keeps dataset order (evaluation).</summary>
    public bool Shuffle { get; init; } = true;

    /// <summary>Drop the last batch of an epoch when it has fewer than <see cref="BatchSize"/> samples.</summary>
    public bool DropLast { get; init; }

    /// <summary>Seed of the shuffle order and of every sample's augmentation.</summary>
    public ulong Seed { get; init; }

    /// <summary>Background threads filling batches; 0 loads synchronously on the caller's thread.</summary>
    public int Workers { get; init; } = Math.Clamp(Environment.ProcessorCount, 1, 4);

    /// <summary>Batches prepared ahead of the consumer (bounded queue length); at least 1.</summary>
    public int Prefetch { get; init; } = 4;

    internal void Validate()
    {
        if (BatchSize < 1)
            throw new ArgumentOutOfRangeException(
                nameof(BatchSize),
                BatchSize,
                $"DataLoader: BatchSize must be at least 1, got {BatchSize}"
            );
        if (Workers < 0 || Workers > 256)
            throw new ArgumentOutOfRangeException(
                nameof(Workers),
                Workers,
                $"DataLoader: Workers must be in [0, 256], got {Workers}"
            );
        if (Prefetch < 1 || Prefetch > 1024)
            throw new ArgumentOutOfRangeException(
                nameof(Prefetch),
                Prefetch,
                $"DataLoader: Prefetch must be in [1, 1024], got {Prefetch}"
            );
    }
}
