using System.Diagnostics;

namespace SpikeEngine.Cpu;

/// <summary>
/// A choice between interchangeable implementations made by measurement, as cuDNN's benchmark mode
/// does: the first time a key is seen each runs and is timed, and the fastest is kept for that key
/// from then on. All must write the same complete result (up to float rounding); when the winner
/// is not the last one timed the measuring call runs it once more, so every result for a key, the
/// first included, comes from the same implementation, also when several threads measure the same
/// key at once (the first choice stored wins, and the others adopt it).
/// </summary>
internal sealed class MeasuredChoice<TKey>
    where TKey : notnull
{
    private readonly Dictionary<TKey, int> _chosen = [];
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
        var known = TryGetIndex(key, out var index);
        second = index == 1;
        return known;
    }

    /// <summary>The index of the implementation chosen for <paramref name="key"/>, if measured.</summary>
    public bool TryGetIndex(TKey key, out int index)
    {
        lock (_chosen)
            return _chosen.TryGetValue(key, out index);
    }

    /// <summary>Forgets every choice (the next call of each key measures again).</summary>
    public void Clear()
    {
        lock (_chosen)
            _chosen.Clear();
    }

    /// <summary>
    /// Runs the implementation chosen for <paramref name="key"/>, or both, timed, when the key is
    /// new. Returns true when <paramref name="second"/> is the choice.
    /// </summary>
    public bool Run(TKey key, Action first, Action second) => Run(key, [first, second]) == 1;

    /// <summary>
    /// Runs the implementation chosen for <paramref name="key"/>, or each of
    /// <paramref name="candidates"/> in turn, timed, when the key is new. Returns the index of the
    /// choice.
    /// </summary>
    public int Run(TKey key, params ReadOnlySpan<Action> candidates)
    {
        if (candidates.Length == 0)
            throw new ArgumentException("MeasuredChoice.Run: no candidates", nameof(candidates));
        int chosen;
        bool known;
        lock (_chosen)
            known = _chosen.TryGetValue(key, out chosen);
        if (known)
        {
            candidates[chosen]();
            return chosen;
        }
        var best = 0;
        var bestTime = double.PositiveInfinity;
        for (var i = 0; i < candidates.Length; i++)
        {
            var t = _time(candidates[i]);
            if (t < bestTime)
                (best, bestTime) = (i, t);
        }
        // Another call may have measured the same key meanwhile (threads running the same shapes):
        // the first choice stored is kept, and this call adopts it, so no result of the key ever
        // comes from another implementation.
        lock (_chosen)
        {
            if (!_chosen.TryGetValue(key, out chosen))
                _chosen[key] = chosen = best;
        }
        if (chosen != candidates.Length - 1)
            candidates[chosen]();
        return chosen;
    }
}
