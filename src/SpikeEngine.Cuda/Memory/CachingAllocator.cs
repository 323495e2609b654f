using System.Globalization;
using SpikeEngine.Cuda.Interop;

namespace SpikeEngine.Cuda.Memory;

/// <summary>Allocator counters, in bytes of rounded block sizes.</summary>
/// <param name="CurrentBytes">Bytes in blocks handed out and not yet returned.</param>
/// <param name="PeakBytes">Highest <paramref name="CurrentBytes"/> since creation or <see cref="CachingAllocator.ResetPeak"/>.</param>
/// <param name="ReservedBytes">Bytes held from the device: handed out plus cached.</param>
/// <param name="LiveCount">Blocks handed out and not yet returned.</param>
/// <param name="CacheHits">Allocations served from the cache.</param>
/// <param name="DeviceAllocations">Allocations that went to the device.</param>
/// <param name="LeakedByFinalizer">Buffers returned by the GC's finalizer instead of Dispose (a leak in the caller).</param>
public readonly record struct MemoryStats(
    long CurrentBytes,
    long PeakBytes,
    long ReservedBytes,
    int LiveCount,
    long CacheHits,
    long DeviceAllocations,
    long LeakedByFinalizer
);

/// <summary>The device could not give the memory an allocation needs, even after the cache was emptied.</summary>
public sealed class CudaOutOfMemoryException(long requestedBytes, MemoryStats stats, string detail)
    : CudaException(
        CUresult.CUDA_ERROR_OUT_OF_MEMORY,
        "CUDA_ERROR_OUT_OF_MEMORY",
        "CachingAllocator.Allocate",
        detail
    )
{
    public long RequestedBytes { get; } = requestedBytes;

    public MemoryStats Stats { get; } = stats;
}

/// <summary>
/// A caching device allocator in the style of PyTorch's: sizes are rounded into bins (512 B
/// steps up to 1 MiB, 2 MiB steps above), freed blocks go back to a per-stream pool and are
/// reused by later allocations on the same stream without synchronising (stream order
/// guarantees the earlier user's work runs first). Large requests take the smallest cached block
/// that wastes at most an eighth. On out-of-memory the cache is emptied once and the request
/// retried. Thread-safe.
/// </summary>
public sealed class CachingAllocator : IDisposable
{
    public const long SmallLimit = 1 << 20;
    public const long SmallStep = 512;
    public const long LargeStep = 2 << 20;

    private readonly IDeviceMemorySource source;
    private readonly Lock gate = new();
    private readonly Dictionary<IntPtr, SortedSet<(long Size, ulong Pointer)>> pools = [];
    private readonly Dictionary<ulong, long> live = [];
    private long current,
        peak,
        reserved,
        hits,
        deviceAllocations,
        leaked;
    private bool disposed;

    public CachingAllocator(IDeviceMemorySource source) => this.source = source;

    /// <summary>Where the blocks come from; it also copies and fills them.</summary>
    public IDeviceMemorySource Source => source;

    /// <summary>The size class a request of <paramref name="bytes"/> is served from.</summary>
    public static long RoundSize(long bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        if (bytes <= SmallLimit)
        {
            return Math.Max(SmallStep, (bytes + SmallStep - 1) / SmallStep * SmallStep);
        }
        return (bytes + LargeStep - 1) / LargeStep * LargeStep;
    }

    public MemoryStats Stats
    {
        get
        {
            lock (gate)
            {
                return new MemoryStats(
                    current,
                    peak,
                    reserved,
                    live.Count,
                    hits,
                    deviceAllocations,
                    leaked
                );
            }
        }
    }

    /// <summary>Allocates at least <paramref name="bytes"/> for use on <paramref name="stream"/> (0: the null stream).</summary>
    public DeviceBuffer Allocate(long bytes, IntPtr stream = default)
    {
        var size = RoundSize(bytes);
        lock (gate)
        {
            ObjectDisposedException.ThrowIf(disposed, this);
            if (TryTakeCached(size, stream, out var cached))
            {
                hits++;
                return Hand(cached.Pointer, cached.Size, bytes, stream);
            }
            if (!source.TryAllocate(size, out var p))
            {
                EmptyCacheLocked();
                if (!source.TryAllocate(size, out p))
                {
                    var stats = new MemoryStats(
                        current,
                        peak,
                        reserved,
                        live.Count,
                        hits,
                        deviceAllocations,
                        leaked
                    );
                    throw new CudaOutOfMemoryException(
                        bytes,
                        stats,
                        OutOfMemoryMessage(bytes, stats)
                    );
                }
            }
            deviceAllocations++;
            reserved += size;
            return Hand(p, size, bytes, stream);
        }
    }

    private static string OutOfMemoryMessage(long bytes, MemoryStats s) =>
        (
            $"CUDA out of memory: tried to allocate {Human(bytes)} ({bytes} bytes); "
            + $"allocator current {Human(s.CurrentBytes)}, peak {Human(s.PeakBytes)}, reserved {Human(s.ReservedBytes)} "
            + $"in {s.LiveCount} live buffers (the cache was emptied and the allocation retried). "
            + "Use a smaller batch size or fewer time steps, or the lean memory layout "
            + "(bf16/fp16 neuron state, bit-packed spikes)."
        ).ToString(CultureInfo.InvariantCulture);

    /// <summary>Formats a byte count as B/KiB/MiB/GiB.</summary>
    public static string Human(long bytes) =>
        bytes switch
        {
            >= 1L << 30 => string.Create(
                CultureInfo.InvariantCulture,
                $"{bytes / (double)(1L << 30):F2} GiB"
            ),
            >= 1L << 20 => string.Create(
                CultureInfo.InvariantCulture,
                $"{bytes / (double)(1L << 20):F2} MiB"
            ),
            >= 1L << 10 => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1024.0:F2} KiB"),
            _ => $"{bytes} B",
        };

    private bool TryTakeCached(long size, IntPtr stream, out (long Size, ulong Pointer) block)
    {
        block = default;
        if (!pools.TryGetValue(stream, out var pool) || pool.Count == 0)
        {
            return false;
        }
        var max = size <= SmallLimit ? size : size + Math.Max(size / 8, LargeStep);
        var view = pool.GetViewBetween((size, 0UL), (max, ulong.MaxValue));
        if (view.Count == 0)
        {
            return false;
        }
        block = view.Min;
        pool.Remove(block);
        return true;
    }

    private DeviceBuffer Hand(ulong pointer, long blockSize, long bytes, IntPtr stream)
    {
        source.Lend(pointer, bytes);
        live.Add(pointer, blockSize);
        current += blockSize;
        peak = Math.Max(peak, current);
        return new DeviceBuffer(this, pointer, bytes, blockSize, stream);
    }

    /// <summary>Returns a block to its stream's pool (stream-ordered: no synchronisation).</summary>
    internal void Release(ulong pointer, IntPtr stream, bool fromFinalizer)
    {
        lock (gate)
        {
            if (!live.Remove(pointer, out var size))
            {
                if (fromFinalizer)
                {
                    return;
                }
                throw new InvalidOperationException(
                    $"CachingAllocator.Release: 0x{pointer:x} is not a live block"
                );
            }
            current -= size;
            if (fromFinalizer)
            {
                leaked++;
            }
            if (disposed)
            {
                reserved -= size;
                source.Free(pointer);
                return;
            }
            if (!pools.TryGetValue(stream, out var pool))
            {
                pools[stream] = pool = [];
            }
            pool.Add((size, pointer));
        }
    }

    /// <summary>Waits for the device, then gives every cached (not live) block back to it.</summary>
    public void EmptyCache()
    {
        lock (gate)
        {
            EmptyCacheLocked();
        }
    }

    private void EmptyCacheLocked()
    {
        if (pools.Values.All(p => p.Count == 0))
        {
            return;
        }
        source.Synchronize();
        foreach (var pool in pools.Values)
        {
            foreach (var (size, pointer) in pool)
            {
                source.Free(pointer);
                reserved -= size;
            }
            pool.Clear();
        }
    }

    /// <summary>Sets the peak to the current figure (e.g. at the start of a measured step).</summary>
    public void ResetPeak()
    {
        lock (gate)
        {
            peak = current;
        }
    }

    /// <summary>Empties the cache; blocks still live are freed when their buffers are disposed.</summary>
    public void Dispose()
    {
        lock (gate)
        {
            if (disposed)
            {
                return;
            }
            EmptyCacheLocked();
            disposed = true;
        }
    }
}
