using System.Diagnostics;
using SpikeEngine.Cpu;
using SpikeEngine.Nn;

namespace SpikeEngine.Bench;

/// <summary>
/// Napkin-math benchmark of the fused LIF scan on the CPU (for <c>spike bench neuron</c>): time per
/// neuron-step of the forward and forward+backward kernels, their effective bandwidth, and the
/// bandwidth of a parallel memory copy of the same number of bytes measured in the same run.
/// </summary>
/// <remarks>
/// Each round times, back to back, the forward, the backward, a copy moving the forward's bytes and
/// a copy moving the forward+backward's bytes; every figure is the median over the rounds, so a
/// burst of load from other processes hits kernel and copy alike. A ratio is copy time over kernel
/// time for the same byte count (1.0: the kernel runs at copy bandwidth).
/// </remarks>
public static class NeuronBench
{
    /// <summary>Forward traffic per neuron-step: read x, write spikes and H (float32).</summary>
    public const int ForwardBytes = 12;

    /// <summary>Backward traffic per neuron-step: read H and ∂L/∂S, write ∂L/∂x.</summary>
    public const int BackwardBytes = 12;

    /// <summary>Copy traffic per float: one read, one write.</summary>
    public const int CopyBytes = 8;

    /// <summary>Figures of one run (medians over the rounds).</summary>
    /// <param name="T">Time steps.</param>
    /// <param name="Neurons">Neurons per step.</param>
    /// <param name="ForwardNs">Forward time per neuron-step.</param>
    /// <param name="ForwardBackwardNs">Forward + backward time per neuron-step.</param>
    /// <param name="ForwardGBps">Forward bytes (12 per neuron-step) over its time.</param>
    /// <param name="ForwardBackwardGBps">Forward + backward bytes (24 per neuron-step) over their time.</param>
    /// <param name="CopyGBps">Bandwidth of a parallel copy of the forward + backward byte count.</param>
    public sealed record Result(
        int T,
        int Neurons,
        double ForwardNs,
        double ForwardBackwardNs,
        double ForwardGBps,
        double ForwardBackwardGBps,
        double CopyGBps
    )
    {
        /// <summary>Bandwidth of a parallel copy of the forward byte count (same run).</summary>
        public double ForwardCopyGBps { get; init; } = CopyGBps;

        /// <summary>Rounds the medians are taken over.</summary>
        public int Rounds { get; init; }

        /// <summary>Forward bandwidth over the bandwidth of a copy of the same bytes.</summary>
        public double ForwardCopyRatio => ForwardGBps / ForwardCopyGBps;

        /// <summary>Forward+backward bandwidth over the bandwidth of a copy of the same bytes.</summary>
        public double ForwardBackwardCopyRatio => ForwardBackwardGBps / CopyGBps;

        public override string ToString() =>
            $"LIF T={T} neurons={Neurons}: fwd {ForwardNs:F3} ns/neuron-step ({ForwardGBps:F1} GB/s, {ForwardCopyRatio:F2} of copy {ForwardCopyGBps:F1} GB/s), "
            + $"fwd+bwd {ForwardBackwardNs:F3} ns/neuron-step ({ForwardBackwardGBps:F1} GB/s, {ForwardBackwardCopyRatio:F2} of copy {CopyGBps:F1} GB/s), "
            + $"median of {Rounds}";
    }

    /// <summary>
    /// Runs LIF (τ = 2, hard reset, sigmoid surrogate, float32 state) over <c>[T, neurons]</c>; each
    /// figure is the median of <paramref name="repeats"/> timed rounds after one warm-up round.
    /// </summary>
    public static Result Run(int T, int neurons, int repeats = 5)
    {
        if (T <= 0 || neurons <= 0 || repeats <= 0)
            throw new ArgumentException(
                $"NeuronBench.Run: 'T', 'neurons' and 'repeats' must be positive, got T={T}, neurons={neurons}, repeats={repeats}"
            );
        using var scope = TensorScope.Begin();
        var be = Backends.For(Device.Cpu);
        var spec = new LifNode().Spec;
        var x = Tensor.Normal([T, neurons], 0.6f, 1f, seed: 1);
        var spikes = Tensor.Zeros([T, neurons]);
        var h = Tensor.Zeros([T, neurons]);
        var vLast = Tensor.Zeros([neurons]);
        var gS = Tensor.Normal([T, neurons], 0f, 1f, seed: 2);
        var gv = Tensor.Ones([neurons]);
        var gx = Tensor.Zeros([T, neurons]);
        var n = (long)T * neurons;
        // Copies of exactly the kernels' byte counts: 12 B/neuron-step = 1.5 floats read + written.
        var fwdFloats = n * ForwardBytes / CopyBytes;
        var fbFloats = n * (ForwardBytes + BackwardBytes) / CopyBytes;
        var src = new float[fbFloats];
        var dst = new float[fbFloats];
        src.AsSpan().Fill(1f);
        dst.AsSpan().Clear();

        var fwd = new double[repeats];
        var bwd = new double[repeats];
        var copyF = new double[repeats];
        var copyFB = new double[repeats];
        for (var r = -1; r < repeats; r++)
        {
            var tf = Time(() => be.NeuronForward(spec, x, null, null, spikes, h, vLast, null));
            var tb = Time(() => be.NeuronBackward(spec, h, null, null, gS, gv, gx, null, null));
            var cf = Time(() => Copy(src, dst, fwdFloats));
            var cfb = Time(() => Copy(src, dst, fbFloats));
            if (r < 0)
                continue; // warm-up
            fwd[r] = tf;
            bwd[r] = tf + tb;
            copyF[r] = cf;
            copyFB[r] = cfb;
        }

        var fwdNs = Median(fwd) / n;
        var fbNs = Median(bwd) / n;
        return new Result(
            T,
            neurons,
            fwdNs,
            fbNs,
            ForwardBytes / fwdNs,
            (ForwardBytes + BackwardBytes) / fbNs,
            CopyBytes * fbFloats / Median(copyFB)
        )
        {
            ForwardCopyGBps = CopyBytes * fwdFloats / Median(copyF),
            Rounds = repeats,
        };
    }

    private static void Copy(float[] src, float[] dst, long count) =>
        Par.For(count, 1 << 16, (s, e) => Array.Copy(src, s, dst, s, e - s));

    private static double Time(Action body)
    {
        var sw = Stopwatch.StartNew();
        body();
        return sw.Elapsed.TotalNanoseconds;
    }

    private static double Median(double[] a)
    {
        var s = (double[])a.Clone();
        Array.Sort(s);
        return s.Length % 2 == 1 ? s[s.Length / 2] : 0.5 * (s[s.Length / 2 - 1] + s[s.Length / 2]);
    }
}
