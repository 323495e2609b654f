namespace SpikeEngine;

/// <summary>
/// Counts bytes once per storage for a <see cref="SavedBytesReport"/>: a storage kept by several
/// nodes (the same tensor, or views of it) counts the first time only, and the excluded storages
/// (the parameters, which exist anyway) never.
/// </summary>
public sealed class StorageLedger
{
    private readonly HashSet<Storage> _seen = new(ReferenceEqualityComparer.Instance);

    /// <summary>A ledger that never counts the storages of <paramref name="excluded"/>.</summary>
    public StorageLedger(IEnumerable<Tensor> excluded)
    {
        ArgumentNullException.ThrowIfNull(excluded);
        foreach (var t in excluded)
            _seen.Add(t.Storage);
    }

    /// <summary><paramref name="bytes"/> the first time <paramref name="t"/>'s storage is counted, else 0 (also for null).</summary>
    public long Once(Tensor? t, long bytes) => t is not null && _seen.Add(t.Storage) ? bytes : 0;

    /// <summary>The bytes of <paramref name="t"/>'s storage as it is held, counted once.</summary>
    public long Stored(Tensor t)
    {
        ArgumentNullException.ThrowIfNull(t);
        return Once(t, t.Storage.Bytes);
    }

    /// <summary><paramref name="t"/> as a float32 tensor (4 B per element), counted once.</summary>
    public long Float32(Tensor? t) => t is null ? 0 : Once(t, 4L * t.Numel);
}
