using System.Diagnostics;
using SpikeEngine.Cpu;

namespace SpikeEngine.Nn;

/// <summary>
/// Napkin-math benchmark of the fused LIF scan on the CPU (for <c>spike bench neuron</c>): time per
/// neuron-step of the forward and forward+backward kernels, their effective bandwidth, and the
/// bandwidth of a parallel memory copy measured in the same run.
/// </summary>
public static class NeuronBench
{
    /// <summary>Forward traffic per neuron-step: read x, write spikes and H (float32).</summary>
    public const int ForwardBytes = 12;

    /// <summary>Backward traffic per neuron-step: read H and ∂L/∂S, write ∂L/∂x.</summary>
    public const int BackwardBytes = 12;

    /// <summary>Copy traffic per float: one read, one write.</summary>
    public const int CopyBytes = 8;

    /// <summary>Figures of one run.</summary>
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
        /// <summary>Forward bandwidth over copy bandwidth.</summary>
        public double ForwardCopyRatio => ForwardGBps / CopyGBps;

        /// <summary>Forward+backward bandwidth over copy bandwidth.</summary>
        public double ForwardBackwardCopyRatio => ForwardBackwardGBps / CopyGBps;

        public override string ToString() =>
            $"LIF T={T} neurons={Neurons}: fwd {ForwardNs:F3} ns/neuron-step ({ForwardGBps:F1} GB/s, {ForwardCopyRatio:F2} of copy), "
            + $"fwd+bwd {ForwardBackwardNs:F3} ns/neuron-step ({ForwardBackwardGBps:F1} GB/s, {ForwardBackwardCopyRatio:F2} of copy), "
            + $"copy {CopyGBps:F1} GB/s";
    }

    /// <summary>
    /// Runs LIF (τ = 2, hard reset, sigmoid surrogate, float32 state) over <c>[T, neurons]</c>; each
    /// figure is the best of <paramref name="repeats"/> timed runs after one warm-up run.
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
        var src = CpuBackend.ArrayOf(x);
        var dst = CpuBackend.ArrayOf(gx);
        var n = (long)T * neurons;

        var fwd = Best(
            repeats,
            () => be.NeuronForward(spec, x, null, null, spikes, h, vLast, null)
        );
        var bwd = Best(
            repeats,
            () => be.NeuronBackward(spec, h, null, null, gS, gv, gx, null, null)
        );
        var copy = Best(
            repeats,
            () => Par.For(n, 1 << 16, (s, e) => Array.Copy(src, s, dst, s, e - s))
        );

        var fwdNs = fwd / n;
        var fbNs = (fwd + bwd) / n;
        return new Result(
            T,
            neurons,
            fwdNs,
            fbNs,
            ForwardBytes / fwdNs,
            (ForwardBytes + BackwardBytes) / fbNs,
            CopyBytes / (copy / n)
        );
    }

    // Best wall time in nanoseconds.
    private static double Best(int repeats, Action body)
    {
        body();
        var best = double.MaxValue;
        for (var i = 0; i < repeats; i++)
        {
            var sw = Stopwatch.StartNew();
            body();
            best = Math.Min(best, sw.Elapsed.TotalNanoseconds);
        }
        return best;
    }
}
