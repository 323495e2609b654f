namespace SpikeEngine;

/// <summary>
/// Memory counters of one device. Current and peak count bytes held by live storages;
/// reserved adds what a caching allocator keeps for reuse.
/// </summary>
public sealed class MemoryStats
{
    private long _current;
    private long _peak;
    private long _live;
    private long _cached;
    private long _finalized;

    public MemoryStats(Device device) => Device = device;

    public Device Device { get; }

    /// <summary>Bytes held by live storages.</summary>
    public long CurrentBytes => Interlocked.Read(ref _current);

    /// <summary>Highest <see cref="CurrentBytes"/> since the last <see cref="ResetPeak"/>.</summary>
    public long PeakBytes => Interlocked.Read(ref _peak);

    /// <summary>Live storages.</summary>
    public long LiveBuffers => Interlocked.Read(ref _live);

    /// <summary>Current bytes plus bytes cached by the allocator for reuse.</summary>
    public long ReservedBytes => CurrentBytes + Interlocked.Read(ref _cached);

    /// <summary>Storages whose memory was reclaimed by the garbage collector instead of a dispose: leaks.</summary>
    public long LeakedByFinalizer => Interlocked.Read(ref _finalized);

    /// <summary>Sets the peak to the current value.</summary>
    public void ResetPeak() => Interlocked.Exchange(ref _peak, CurrentBytes);

    internal void OnAlloc(long bytes)
    {
        Interlocked.Increment(ref _live);
        var now = Interlocked.Add(ref _current, bytes);
        long peak;
        while (now > (peak = Interlocked.Read(ref _peak)))
        {
            if (Interlocked.CompareExchange(ref _peak, now, peak) == peak)
                break;
        }
    }

    internal void OnFree(long bytes)
    {
        Interlocked.Decrement(ref _live);
        Interlocked.Add(ref _current, -bytes);
    }

    internal void OnFinalized(long bytes)
    {
        Interlocked.Increment(ref _finalized);
        OnFree(bytes);
    }

    internal void SetCached(long bytes) => Interlocked.Exchange(ref _cached, bytes);

    public override string ToString() =>
        $"{Device}: current {CurrentBytes:N0} B, peak {PeakBytes:N0} B, reserved {ReservedBytes:N0} B, live {LiveBuffers}";

    private static readonly Dictionary<Device, MemoryStats> s_all = [];

    /// <summary>The counters of <paramref name="device"/>.</summary>
    public static MemoryStats For(Device device)
    {
        lock (s_all)
        {
            if (!s_all.TryGetValue(device, out var s))
                s_all[device] = s = new MemoryStats(device);
            return s;
        }
    }
}
