using System.Diagnostics;

namespace SpikeEngine;

/// <summary>One storage live at the peak: its size and the code that allocated it.</summary>
/// <param name="Bytes">The storage's size.</param>
/// <param name="DType">Its element type.</param>
/// <param name="Origin">
/// The engine frames that allocated it, innermost first (<c>Type.Method</c> joined by <c> &lt; </c>),
/// without the allocator's own frames; <c>(before tracking)</c> for a storage that was already live
/// when the tracker started.
/// </param>
public readonly record struct LiveStorage(long Bytes, DType DType, string Origin);

/// <summary>
/// A diagnostic of <see cref="MemoryStats"/>: while it is active it records every storage of its
/// device created with the stack that allocated it, and copies the set of live storages each time
/// <see cref="MemoryStats.CurrentBytes"/> reaches a new high, so <see cref="AtPeak"/> says what the
/// peak is made of. Capturing a stack per allocation makes it slow: it is for finding where memory
/// goes (<c>spike bench memory --peak-live</c>), never for timed runs. One tracker at a time.
/// </summary>
public sealed class PeakTracker : IDisposable
{
    private static PeakTracker? s_active;

    private readonly object _lock = new();
    private readonly Dictionary<Storage, StackTrace> _live = new(
        ReferenceEqualityComparer.Instance
    );
    private readonly MemoryStats _stats;
    private readonly long _untrackedAtStart;
    private List<(Storage Storage, StackTrace Stack)> _atPeak = [];
    private long _peak;

    private PeakTracker(Device device)
    {
        Device = device;
        _stats = MemoryStats.For(device);
        _untrackedAtStart = _stats.CurrentBytes;
        _peak = _untrackedAtStart;
    }

    /// <summary>The device whose storages are tracked.</summary>
    public Device Device { get; }

    /// <summary>
    /// The highest <see cref="MemoryStats.CurrentBytes"/> seen since <see cref="Start"/> (at least
    /// the value at the start).
    /// </summary>
    public long PeakBytes
    {
        get
        {
            lock (_lock)
                return _peak;
        }
    }

    /// <summary>Starts tracking the storages of <paramref name="device"/>.</summary>
    public static PeakTracker Start(Device device)
    {
        var t = new PeakTracker(device);
        if (Interlocked.CompareExchange(ref s_active, t, null) is not null)
            throw new InvalidOperationException(
                "PeakTracker.Start: a tracker is already active; dispose it first"
            );
        return t;
    }

    /// <summary>
    /// The storages live when the peak was reached, largest first; the bytes live then that were
    /// allocated before the tracker started form one <c>(before tracking)</c> entry.
    /// </summary>
    public IReadOnlyList<LiveStorage> AtPeak()
    {
        List<(Storage Storage, StackTrace Stack)> at;
        long peak;
        lock (_lock)
            (at, peak) = (_atPeak, _peak);
        var list = at.Select(e => new LiveStorage(
                e.Storage.Bytes,
                e.Storage.DType,
                Origin(e.Stack)
            ))
            .ToList();
        var before = peak - list.Sum(e => e.Bytes);
        if (before > 0)
            list.Add(new LiveStorage(before, DType.UInt8, "(before tracking)"));
        return [.. list.OrderByDescending(e => e.Bytes)];
    }

    /// <summary>
    /// <see cref="AtPeak"/> grouped by origin: the bytes and count of each, largest first.
    /// </summary>
    public IReadOnlyList<(string Origin, long Bytes, int Count)> AtPeakByOrigin() =>
        [
            .. AtPeak()
                .GroupBy(e => e.Origin)
                .Select(g => (g.Key, g.Sum(e => e.Bytes), g.Count()))
                .OrderByDescending(g => g.Item2),
        ];

    internal static void OnCreate(Storage s)
    {
        var t = Volatile.Read(ref s_active);
        if (t is null || s.Device != t.Device)
            return;
        var stack = new StackTrace(2, false);
        lock (t._lock)
        {
            t._live[s] = stack;
            var now = t._stats.CurrentBytes;
            if (now > t._peak)
            {
                t._peak = now;
                t._atPeak = [.. t._live.Select(kv => (kv.Key, kv.Value))];
            }
        }
    }

    internal static void OnFree(Storage s)
    {
        var t = Volatile.Read(ref s_active);
        if (t is null || s.Device != t.Device)
            return;
        lock (t._lock)
            t._live.Remove(s);
    }

    private static string Origin(StackTrace stack)
    {
        var frames = new List<string>();
        foreach (var f in stack.GetFrames())
        {
            var m = f.GetMethod();
            var type = m?.DeclaringType;
            if (m is null || type is null)
                continue;
            // Compiler-generated closures and state machines: name their declaring type.
            while (
                type.DeclaringType is not null && type.Name.Contains('<', StringComparison.Ordinal)
            )
                type = type.DeclaringType;
            if (type.Namespace?.StartsWith("SpikeEngine", StringComparison.Ordinal) != true)
                continue;
            if (
                type == typeof(CpuAllocator)
                || type == typeof(PeakTracker)
                || type.IsSubclassOf(typeof(Storage))
            )
                continue;
            var name = $"{type.Name}.{m.Name}";
            if (frames.Count == 0 || frames[^1] != name)
                frames.Add(name);
            if (frames.Count == 5)
                break;
        }
        return frames.Count == 0 ? "(outside the engine)" : string.Join(" < ", frames);
    }

    public void Dispose()
    {
        Interlocked.CompareExchange(ref s_active, null, this);
    }
}
