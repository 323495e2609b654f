namespace SpikeEngine.Cpu;

/// <summary>Chunked parallel loops for the CPU kernels.</summary>
internal static class Par
{
    /// <summary>Work below this many elements runs on the calling thread.</summary>
    public const int SerialThreshold = 1 << 15;

    public static int Workers => Environment.ProcessorCount;

    /// <summary>Runs <paramref name="body"/>(start, end) over [0, n) in contiguous chunks of at least <paramref name="grain"/>.</summary>
    public static void For(long n, long grain, Action<long, long> body)
    {
        if (n <= 0)
            return;
        var chunks = (int)Math.Min(Workers * 4L, Math.Max(1, n / Math.Max(grain, 1)));
        if (chunks <= 1)
        {
            body(0, n);
            return;
        }
        var step = (n + chunks - 1) / chunks;
        Parallel.For(
            0,
            chunks,
            c =>
            {
                var s = c * step;
                var e = Math.Min(n, s + step);
                if (s < e)
                    body(s, e);
            }
        );
    }

    /// <summary>Elementwise-work helper: splits [0, n) for memory-bound loops.</summary>
    public static void Elementwise(long n, Action<int, int> body)
    {
        if (n < SerialThreshold)
        {
            body(0, (int)n);
            return;
        }
        For(n, SerialThreshold, (s, e) => body((int)s, (int)(e - s)));
    }
}
