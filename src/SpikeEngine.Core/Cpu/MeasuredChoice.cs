using System.Diagnostics;

namespace SpikeEngine.Cpu;

/// <summary>
/// A choice between two interchangeable implementations made by measurement, as cuDNN's
/// benchmark mode does: the first time a key is seen both run and are timed, and the faster one is
/// kept for that key from then on. Both must write the same complete result (up to float
/// summation order); when the first wins the measuring call runs it once more, so every result for
/// a key, the first included, comes from the same implementation, also when several threads
/// measure the same key at once (the first choice stored wins, and the others adopt it).
/// </summary>
internal sealed class MeasuredChoice<TKey>
    where TKey : notnull
{
    private readonly Dictionary<TKey, bool> _chosen = [];
    private readonly Func<Action, double> _time;

    /// <summary>Times with a stopwatch, or with <paramref name="time"/> (seconds a run took).</summary>
    public MeasuredChoice(Func<Action, double>? time = null) => _time = time ?? Stopwatch;

    private static double Stopwatch(Action run)
    {
        var t0 = System.Diagnostics.Stopwatch.GetTimestamp();
        run();
        return System.Diagnostics.Stopwatch.GetElapsedTime(t0).TotalSeconds;
    }

    /// <summary>Keys measured so far.</summary>
    public int Count
    {
        get
        {
            lock (_chosen)
                return _chosen.Count;
        }
    }

    /// <summary>The choice made for <paramref name="key"/> (true: the second implementation), if measured.</summary>
    public bool TryGet(TKey key, out bool second)
    {
        lock (_chosen)
            return _chosen.TryGetValue(key, out second);
    }

    /// <summary>Forgets every choice (the next call of each key measures again).</summary>
    public void Clear()
    {
        lock (_chosen)
            _chosen.Clear();
    }

    /// <summary>
    /// Runs the implementation chosen for <paramref name="key"/>, or both, timed, when the key is
    /// new. Returns true when
    /// <paramref name="second"/> is the choice.
    /// </summary>
    public bool Run(TKey key, Action first, Action second)
    {
        bool useSecond;
        bool known;
        lock (_chosen)
            known = _chosen.TryGetValue(key, out useSecond);
        if (known)
        {
            (useSecond ? second : first)();
            return useSecond;
        }
        var tFirst = _time(first);
        var tSecond = _time(second);
        // Another call may have measured the same key meanwhile (threads running the same shapes):
        // the first choice stored is kept, and this call adopts it, so no result of the key ever
        // comes from the other implementation.
        lock (_chosen)
        {
            if (!_chosen.TryGetValue(key, out useSecond))
                _chosen[key] = useSecond = tSecond < tFirst;
        }
        if (!useSecond)
            first();
        return useSecond;
    }
}
