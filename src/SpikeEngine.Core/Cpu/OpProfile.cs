using System.Diagnostics;

namespace SpikeEngine.Cpu;

/// <summary>The kinds of work <see cref="OpProfile"/> times separately.</summary>
public enum OpKind
{
    ConvForward,
    ConvBackwardData,
    ConvBackwardWeights,
    BatchNorm,
    Neuron,
    Pooling,
    Gemm,
    Elementwise,
    Loss,
    Optimizer,
    Allocation,
}

/// <summary>
/// Wall time per op kind of the CPU backend, off unless <see cref="Enabled"/> (one flag test per
/// backend call when off). Only the outermost timed call on a thread counts, so a primitive that
/// calls another is charged once, to its own kind. What a step spends outside the backend
/// (autograd bookkeeping, the density scans of the event-driven choice) is the step's time minus
/// the sum.
/// </summary>
public static class OpProfile
{
    private static readonly long[] s_ticks = new long[Enum.GetValues<OpKind>().Length];
    private static readonly long[] s_calls = new long[s_ticks.Length];
    private static readonly long[] s_cpuTicks = new long[s_ticks.Length];

    [ThreadStatic]
    private static int t_depth;

    /// <summary>Whether backend calls are timed.</summary>
    public static bool Enabled { get; set; }

    /// <summary>Clears the totals.</summary>
    public static void Reset()
    {
        Array.Clear(s_ticks);
        Array.Clear(s_calls);
        Array.Clear(s_cpuTicks);
    }

    /// <summary>
    /// Wall seconds, process CPU seconds (all threads, so a busy machine's waiting is left out)
    /// and calls per kind since the last <see cref="Reset"/>.
    /// </summary>
    public static IReadOnlyList<(
        OpKind Kind,
        double Seconds,
        double CpuSeconds,
        long Calls
    )> Totals() =>
        Enum.GetValues<OpKind>()
            .Select(k =>
                (
                    k,
                    Interlocked.Read(ref s_ticks[(int)k]) / (double)Stopwatch.Frequency,
                    Interlocked.Read(ref s_cpuTicks[(int)k]) / (double)TimeSpan.TicksPerSecond,
                    Interlocked.Read(ref s_calls[(int)k])
                )
            )
            .ToArray();

    /// <summary>Short lower-case name of a kind (<c>conv_fwd</c>, <c>bn</c>, ...), as in JSON output.</summary>
    public static string Name(OpKind k) =>
        k switch
        {
            OpKind.ConvForward => "conv_fwd",
            OpKind.ConvBackwardData => "conv_bwd_data",
            OpKind.ConvBackwardWeights => "conv_bwd_weights",
            OpKind.BatchNorm => "bn",
            OpKind.Neuron => "neuron",
            OpKind.Pooling => "pooling",
            OpKind.Gemm => "gemm",
            OpKind.Elementwise => "elementwise",
            OpKind.Loss => "loss",
            OpKind.Optimizer => "optimizer",
            OpKind.Allocation => "allocation",
            _ => throw new ArgumentOutOfRangeException(nameof(k)),
        };

    /// <summary>Times the enclosing call as <paramref name="kind"/> (dispose at its end).</summary>
    internal static Scope Time(OpKind kind) =>
        Enabled ? new Scope(kind, t_depth++ == 0, Stopwatch.GetTimestamp(), CpuTicks()) : default;

    private static long CpuTicks() => Environment.CpuUsage.TotalTime.Ticks;

    internal readonly struct Scope(OpKind kind, bool outermost, long start, long cpuStart)
        : IDisposable
    {
        public void Dispose()
        {
            if (start == 0)
                return;
            t_depth--;
            if (!outermost)
                return;
            Interlocked.Add(ref s_ticks[(int)kind], Stopwatch.GetTimestamp() - start);
            Interlocked.Add(ref s_cpuTicks[(int)kind], CpuTicks() - cpuStart);
            Interlocked.Increment(ref s_calls[(int)kind]);
        }
    }
}
