using Xunit;

namespace SpikeEngine.Nn.Tests.Neurons;

/// <summary>
/// The fused scan against its composite twin (<see cref="NeuronSlow"/>) for every combination of
/// kind, reset, detach_reset, decay_input and surrogate: spikes and final V bit-exact, gradients
/// of x, v0 and PLIF's w to 1e-6 (abs + rel), under the loss Σ r₁·S + 0.5 Σ r₂·V_T so both
/// gradient paths carry signal.
/// </summary>
public class NeuronParityTests
{
    // (T, M): T = 1, N = 1, M not a multiple of the vector width, and more than one kernel tile.
    private static readonly (int T, int M)[] Shapes = [(1, 1), (4, 1), (1, 13), (6, 37), (3, 2100)];

    public static TheoryData<NeuronKind, bool, bool, bool, string> Combinations()
    {
        var data = new TheoryData<NeuronKind, bool, bool, bool, string>();
        foreach (var kind in new[] { NeuronKind.If, NeuronKind.Lif, NeuronKind.Plif })
        foreach (var hard in new[] { true, false })
        foreach (var detach in new[] { false, true })
        foreach (var decay in kind == NeuronKind.If ? new[] { false } : new[] { true, false })
        foreach (
            var sg in new[] { "Sigmoid", "ATan", "PiecewiseQuadratic", "Erf", "SuperSpike", "Rect" }
        )
            data.Add(kind, hard, detach, decay, sg);
        return data;
    }

    [Theory]
    [MemberData(nameof(Combinations))]
    public void FusedEqualsCompositeTwin(
        NeuronKind kind,
        bool hard,
        bool detach,
        bool decay,
        string surrogate
    )
    {
        var spec = new NeuronSpec(
            kind,
            kind == NeuronKind.Lif ? 1f / 1.7f : 1f,
            0.8f,
            hard ? -0.1f : null,
            decay,
            detach,
            SurrogateTests.Make(surrogate)
        );
        var seed = 1UL;
        foreach (var (steps, m) in Shapes)
        {
            foreach (var withV0 in new[] { true, false })
            {
                seed++;
                Compare(
                    spec,
                    steps,
                    m,
                    withV0,
                    seed,
                    $"{kind} hard={hard} detach={detach} decay={decay} {surrogate} T={steps} M={m} v0={withV0}"
                );
            }
        }
    }

    private static void Compare(
        NeuronSpec spec,
        int steps,
        int m,
        bool withV0,
        ulong seed,
        string label
    )
    {
        using var scope = TensorScope.Begin();
        var x = Tensor.Normal([steps, m], 0.5f, 0.9f, seed);
        var v0 = withV0 ? Tensor.Uniform([m], -0.5f, 0.9f, seed + 1000) : null;
        var r1 = Tensor.Uniform([steps, m], -1f, 1f, seed + 2000);
        var r2 = Tensor.Uniform([m], -1f, 1f, seed + 3000);
        var plif = spec.Kind == NeuronKind.Plif;

        var fused = Run(
            spec,
            x,
            v0,
            plif ? 0.3f : null,
            r1,
            r2,
            (in NeuronSpec s, Tensor a, Tensor? b, Tensor? c) => NeuronOps.Scan(s, a, b, c)
        );
        var slow = Run(
            spec,
            x,
            v0,
            plif ? 0.3f : null,
            r1,
            r2,
            (in NeuronSpec s, Tensor a, Tensor? b, Tensor? c) => NeuronSlow.Scan(s, a, b, c)
        );

        Approx.BitEqual($"{label}: spikes", fused.Spikes, slow.Spikes);
        Approx.BitEqual($"{label}: V_T", fused.VLast, slow.VLast);
        if (steps * m >= 100)
        {
            // The inputs exercise both branches: some neuron-steps fire, some do not.
            Assert.Contains(1f, fused.Spikes);
            Assert.Contains(0f, fused.Spikes);
        }
        Approx.Close($"{label}: grad x", fused.Gx, slow.Gx, Tolerance.Reordered);
        if (withV0)
            Approx.Close($"{label}: grad v0", fused.Gv0!, slow.Gv0!, Tolerance.Reordered);
        if (plif)
        {
            // dL/dw is a sum over all T·M neuron-steps with terms of both signs, so a float32
            // sum's error scales with the terms' absolute mass, not with the result: both sides
            // are checked against a float64 backward recurrence, to within 1e-6 plus a few float32
            // ulps of that mass (the twin sums in float32, hence its √(T·M) growth).
            var (gw, mass) = PlifGradW(
                spec,
                x.ToArray(),
                v0?.ToArray(),
                0.3f,
                r1.ToArray(),
                r2.ToArray(),
                fused.Spikes,
                steps,
                m
            );
            var eps = 1.0 / (1 << 23);
            Approx.Close(
                $"{label}: grad w (fused)",
                fused.Gw!,
                [(float)gw],
                1e-6 + 16 * eps * mass,
                0
            );
            Approx.Close(
                $"{label}: grad w (twin)",
                slow.Gw!,
                [(float)gw],
                1e-6 + 16 * eps * mass * Math.Max(1.0, Math.Sqrt(steps * m) / 8),
                0
            );
        }
    }

    /// <summary>
    /// dL/dw of PLIF in float64 for L = Σ r₁·S + 0.5 Σ r₂·V_T, by the backward recurrence of
    /// docs/neurons.md over the forward's spikes, and the absolute mass Σ|term| of that sum.
    /// </summary>
    private static (double Gw, double Mass) PlifGradW(
        NeuronSpec spec,
        float[] x,
        float[]? v0,
        float w,
        float[] r1,
        float[] r2,
        float[] spikes,
        int steps,
        int m
    )
    {
        var k = 1.0 / (1.0 + Math.Exp(-w));
        double rest = spec.Rest,
            vth = spec.VThreshold;
        var h = new double[steps * m];
        var vPrev = new double[steps * m];
        var hf = new float[steps * m];
        for (var i = 0; i < m; i++)
        {
            var v = v0?[i] ?? rest;
            for (var t = 0; t < steps; t++)
            {
                var j = t * m + i;
                vPrev[j] = v;
                h[j] = spec.DecayInput ? v + (x[j] - (v - rest)) * k : v - (v - rest) * k + x[j];
                hf[j] = (float)(h[j] - vth);
                var s = spikes[j];
                v = spec.HardReset ? h[j] * (1 - s) + s * rest : h[j] - s * vth;
            }
        }
        var psi = new float[steps * m];
        spec.Surrogate.Gradient(hf, psi);
        double gk = 0,
            mass = 0;
        for (var i = 0; i < m; i++)
        {
            var gv = 0.5 * r2[i];
            for (var t = steps - 1; t >= 0; t--)
            {
                var j = t * m + i;
                var s = spikes[j];
                double dVdH = spec.HardReset ? 1 - s : 1,
                    dVdS = spec.DetachReset ? 0
                    : spec.HardReset ? rest - h[j]
                    : -vth;
                var gh = gv * dVdH + (r1[j] + gv * dVdS) * psi[j];
                var dHdk = spec.DecayInput ? x[j] - (vPrev[j] - rest) : -(vPrev[j] - rest);
                gk += gh * dHdk;
                mass += Math.Abs(gh * dHdk);
                gv = gh * (1 - k);
            }
        }
        return (gk * k * (1 - k), mass * k * (1 - k));
    }

    internal delegate (Tensor Spikes, Tensor VLast) ScanFn(
        in NeuronSpec spec,
        Tensor x,
        Tensor? v0,
        Tensor? w
    );

    internal sealed record Result(
        float[] Spikes,
        float[] VLast,
        float[] Gx,
        float[]? Gv0,
        float[]? Gw
    );

    internal static Result Run(
        NeuronSpec spec,
        Tensor x,
        Tensor? v0,
        float? w,
        Tensor r1,
        Tensor r2,
        ScanFn scan
    )
    {
        using var scope = TensorScope.Begin();
        var xl = x.Detach();
        xl.RequiresGrad = true;
        Tensor? v0l = null;
        if (v0 is not null)
        {
            v0l = v0.Detach();
            v0l.RequiresGrad = true;
        }
        var wl = w is { } wv ? Tensor.Full([1], wv, requiresGrad: true) : null;
        var (s, v) = scan(spec, xl, v0l, wl);
        var loss = (s * r1).Sum() + (v * r2).Sum() * 0.5f;
        loss.Backward();
        return new Result(
            s.ToArray(),
            v.ToArray(),
            xl.Grad!.ToArray(),
            v0l?.Grad!.ToArray(),
            wl?.Grad!.ToArray()
        );
    }
}
