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

    /// <summary>
    /// This process's shard, 0 ≤ ShardIndex &lt; <see cref="ShardCount"/> (data-parallel training:
    /// the rank). Each epoch's order is cut as PyTorch's <c>DistributedSampler</c> cuts it:
    /// shard r takes positions r, r + S, r + 2S, … of the epoch's permutation, so step k of all
    /// shards together visits exactly the samples of step k of one loader with S·<see cref="BatchSize"/>.
    /// </summary>
    public int ShardIndex { get; init; }

    /// <summary>Number of shards S (data-parallel: the world size); 1 reads the whole dataset.</summary>
    public int ShardCount { get; init; } = 1;

    /// <summary>
    /// With shards: repeat the permutation's first positions until its length divides by
    /// <see cref="ShardCount"/>, so every shard has the same number of samples and steps (training,
    /// where every step is a collective); false gives shards that differ by at most one sample and
    /// visit each sample once (evaluation).
    /// </summary>
    public bool PadShards { get; init; } = true;

    internal void Validate()
    {
        if (ShardCount < 1 || ShardIndex < 0 || ShardIndex >= ShardCount)
            throw new ArgumentOutOfRangeException(
                nameof(ShardIndex),
                ShardIndex,
                $"DataLoader: shard {ShardIndex} of {ShardCount} is invalid; need ShardCount ≥ 1 and 0 ≤ ShardIndex < ShardCount"
            );
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
