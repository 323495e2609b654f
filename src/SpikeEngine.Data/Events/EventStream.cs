namespace SpikeEngine.Data;

/// <summary>
/// The events of one event-camera recording, in time order: pixel (x, y), polarity p (0 = OFF,
/// 1 = ON) and timestamp t in microseconds, on a sensor of <see cref="Width"/> × <see cref="Height"/>.
/// </summary>
public sealed class EventStream
{
    public EventStream(int width, int height, ushort[] x, ushort[] y, byte[] p, long[] t)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(y);
        ArgumentNullException.ThrowIfNull(p);
        ArgumentNullException.ThrowIfNull(t);
        if (width <= 0 || height <= 0)
            throw new ArgumentException(
                $"EventStream: sensor size must be positive, got {width}×{height}"
            );
        if (y.Length != x.Length || p.Length != x.Length || t.Length != x.Length)
            throw new ArgumentException(
                $"EventStream: x, y, p, t must have one length, got {x.Length}, {y.Length}, {p.Length}, {t.Length}"
            );
        for (int i = 0; i < x.Length; i++)
        {
            if (x[i] >= width || y[i] >= height)
                throw new ArgumentException(
                    $"EventStream: event {i} at ({x[i]}, {y[i]}) is outside the {width}×{height} sensor"
                );
            if (p[i] > 1)
                throw new ArgumentException(
                    $"EventStream: event {i} has polarity {p[i]}, expected 0 or 1"
                );
            if (i > 0 && t[i] < t[i - 1])
                throw new ArgumentException(
                    $"EventStream: event {i} at t = {t[i]} µs precedes event {i - 1} at {t[i - 1]} µs (events must be in time order)"
                );
        }
        Width = width;
        Height = height;
        X = x;
        Y = y;
        P = p;
        T = t;
    }

    public int Width { get; }
    public int Height { get; }
    public ushort[] X { get; }
    public ushort[] Y { get; }

    /// <summary>0 = OFF, 1 = ON.</summary>
    public byte[] P { get; }

    /// <summary>Microseconds, non-decreasing.</summary>
    public long[] T { get; }

    public int Count => X.Length;

    private EventStream Select(
        int width,
        int height,
        IEnumerable<int> keep,
        Func<int, (int X, int Y)>? map = null,
        long[]? times = null
    )
    {
        var idx = keep.ToArray();
        var xs = new ushort[idx.Length];
        var ys = new ushort[idx.Length];
        var ps = new byte[idx.Length];
        var ts = new long[idx.Length];
        for (int k = 0; k < idx.Length; k++)
        {
            int i = idx[k];
            var (nx, ny) = map is null ? (X[i], Y[i]) : map(i);
            xs[k] = (ushort)nx;
            ys[k] = (ushort)ny;
            ps[k] = P[i];
            ts[k] = times?[i] ?? T[i];
        }
        if (times is not null)
        {
            var order = Enumerable.Range(0, idx.Length).OrderBy(k => ts[k]).ToArray();
            xs = [.. order.Select(k => xs[k])];
            ys = [.. order.Select(k => ys[k])];
            ps = [.. order.Select(k => ps[k])];
            ts = [.. order.Select(k => ts[k])];
        }
        return new EventStream(width, height, xs, ys, ps, ts);
    }

    /// <summary>The events inside the window at (<paramref name="left"/>, <paramref name="top"/>) of the given size, moved to its origin.</summary>
    public EventStream Crop(int left, int top, int width, int height)
    {
        if (
            left < 0
            || top < 0
            || width <= 0
            || height <= 0
            || left + width > Width
            || top + height > Height
        )
            throw new ArgumentException(
                $"EventStream.Crop: window ({left}, {top}) {width}×{height} is not inside the {Width}×{Height} sensor"
            );
        return Select(
            width,
            height,
            Enumerable
                .Range(0, Count)
                .Where(i =>
                    X[i] >= left && X[i] < left + width && Y[i] >= top && Y[i] < top + height
                ),
            i => (X[i] - left, Y[i] - top)
        );
    }

    /// <summary>The events with <paramref name="start"/> ≤ t &lt; <paramref name="end"/> µs.</summary>
    public EventStream Window(long start, long end) =>
        Select(Width, Height, Enumerable.Range(0, Count).Where(i => T[i] >= start && T[i] < end));

    /// <summary>Coordinates divided by <paramref name="factor"/> (integer division); the sensor shrinks to ⌈W/f⌉ × ⌈H/f⌉.</summary>
    public EventStream Downsample(int factor)
    {
        if (factor < 1)
            throw new ArgumentException(
                $"EventStream.Downsample: factor must be at least 1, got {factor}"
            );
        return Select(
            (Width + factor - 1) / factor,
            (Height + factor - 1) / factor,
            Enumerable.Range(0, Count),
            i => (X[i] / factor, Y[i] / factor)
        );
    }

    /// <summary>
    /// Drops every event with no other event at one of its 8 neighbouring pixels (either
    /// polarity) within <paramref name="window"/> µs before it (the background-activity filter).
    /// </summary>
    public EventStream Denoise(long window)
    {
        if (window <= 0)
            throw new ArgumentException(
                $"EventStream.Denoise: window must be positive µs, got {window}"
            );
        var last = new long[(Width + 2) * (Height + 2)];
        Array.Fill(last, long.MinValue / 2);
        int stride = Width + 2;
        var keep = new List<int>();
        for (int i = 0; i < Count; i++)
        {
            int c = (Y[i] + 1) * stride + X[i] + 1;
            bool support = false;
            for (int dy = -1; dy <= 1 && !support; dy++)
            for (int dx = -1; dx <= 1 && !support; dx++)
                if ((dx != 0 || dy != 0) && T[i] - last[c + dy * stride + dx] <= window)
                    support = true;
            if (support)
                keep.Add(i);
            last[c] = T[i];
        }
        return Select(Width, Height, keep);
    }

    /// <summary>Adds independent Gaussian noise of <paramref name="std"/> µs to every timestamp (rounded, clamped at 0), then re-sorts by time.</summary>
    public EventStream TimeJitter(double std, ref SampleRandom random)
    {
        if (!(std >= 0))
            throw new ArgumentException($"EventStream.TimeJitter: std must be ≥ 0 µs, got {std}");
        var times = new long[Count];
        for (int i = 0; i < Count; i++)
        {
            double u1 = 1.0 - random.NextSingle(),
                u2 = random.NextSingle();
            double z = Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
            times[i] = Math.Max(0, T[i] + (long)Math.Round(z * std));
        }
        return Select(Width, Height, Enumerable.Range(0, Count), null, times);
    }
}
