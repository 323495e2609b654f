namespace SpikeEngine.Data;

/// <summary>How <see cref="FrameIntegration"/> splits a recording into T frames.</summary>
public enum FrameSplit
{
    /// <summary>By event count: N // T events per frame, the last frame takes the rest.</summary>
    Number,

    /// <summary>By time: spans of (t_last − t_first) // T from t_first; the last frame runs to the end.</summary>
    Time,
}

/// <summary>
/// Event → frame integration as SpikingJelly defines it
/// (<c>integrate_events_by_fixed_frames_number</c>): frame j counts the events of its segment
/// per (polarity, y, x) into <c>[T, 2, H, W]</c>, channel 0 for polarity 0 (OFF), channel 1 for
/// ON. Segments are index ranges of the time-ordered events. <see cref="FrameSplit.Number"/>:
/// segment j is <c>[j·⌊N/T⌋, (j+1)·⌊N/T⌋)</c>, the last ends at N. <see cref="FrameSplit.Time"/>:
/// with <c>dt = ⌊(t_last − t_first)/T⌋</c>, segment j holds the events with
/// <c>t_first + j·dt ≤ t &lt; t_first + (j+1)·dt</c>, the last also every later event.
/// (SpikingJelly fails on a time segment with no event; here it is an empty frame.)
/// </summary>
public static class FrameIntegration
{
    /// <summary>T frames of <paramref name="events"/>, float32 <c>[T, 2, H, W]</c> row-major.</summary>
    public static float[] FixedFrames(EventStream events, int frames, FrameSplit split)
    {
        ArgumentNullException.ThrowIfNull(events);
        if (frames < 1)
            throw new ArgumentOutOfRangeException(
                nameof(frames),
                frames,
                $"frame integration: T must be at least 1, got {frames}"
            );
        int n = events.Count;
        var bounds = new int[frames + 1];
        if (split == FrameSplit.Number)
        {
            int di = n / frames;
            for (int j = 0; j < frames; j++)
                bounds[j] = j * di;
        }
        else if (n > 0)
        {
            long t0 = events.T[0],
                dt = (events.T[^1] - t0) / frames;
            for (int j = 0; j < frames; j++)
                bounds[j] = LowerBound(events.T, t0 + j * dt);
        }
        bounds[frames] = n;
        var output = new float[frames * 2 * events.Height * events.Width];
        for (int j = 0; j < frames; j++)
        {
            // Segment j ends where segment j + 1 starts (the last at N).
            int end =
                j == frames - 1 ? n
                : split == FrameSplit.Number ? bounds[j] + n / frames
                : bounds[j + 1];
            Accumulate(events, bounds[j], end, output.AsSpan(j * 2 * events.Height * events.Width));
        }
        return output;
    }

    /// <summary>
    /// Frames of a fixed duration <paramref name="duration"/> µs from t_first: frame j counts
    /// the events with <c>t_first + j·D ≤ t &lt; t_first + (j+1)·D</c>; there are
    /// <c>⌊(t_last − t_first)/D⌋ + 1</c> frames. Returns (T, frames).
    /// </summary>
    public static (int Frames, float[] Data) FixedDuration(EventStream events, long duration)
    {
        ArgumentNullException.ThrowIfNull(events);
        if (duration < 1)
            throw new ArgumentOutOfRangeException(
                nameof(duration),
                duration,
                $"frame integration: duration must be at least 1 µs, got {duration}"
            );
        int frames =
            events.Count == 0 ? 1 : checked((int)((events.T[^1] - events.T[0]) / duration + 1));
        int plane = 2 * events.Height * events.Width;
        var output = new float[checked(frames * plane)];
        for (int j = 0; j < frames; j++)
        {
            int a = events.Count == 0 ? 0 : LowerBound(events.T, events.T[0] + j * duration),
                b = events.Count == 0 ? 0 : LowerBound(events.T, events.T[0] + (j + 1) * duration);
            Accumulate(events, a, b, output.AsSpan(j * plane, plane));
        }
        return (frames, output);
    }

    private static void Accumulate(EventStream e, int from, int to, Span<float> frame)
    {
        int plane = e.Height * e.Width;
        for (int i = from; i < to; i++)
            frame[e.P[i] * plane + e.Y[i] * e.Width + e.X[i]] += 1f;
    }

    private static int LowerBound(long[] t, long value)
    {
        int lo = 0,
            hi = t.Length;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (t[mid] < value)
                lo = mid + 1;
            else
                hi = mid;
        }
        return lo;
    }
}
