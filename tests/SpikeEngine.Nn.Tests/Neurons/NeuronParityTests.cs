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
            // dL/dw is a sum over all T·M neuron-steps; the twin sums in float32 (the kernel in
            // float64), so the twin's own rounding grows like √(T·M)·eps: the relative tolerance
            // is 1e-6 up to 64 terms and scales with √(T·M)/8 beyond (1e-5 at T·M = 6300).
            var rtol = 1e-6 * Math.Max(1.0, Math.Sqrt(steps * m) / 8);
            Approx.Close($"{label}: grad w", fused.Gw!, slow.Gw!, 1e-6, rtol);
        }
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
