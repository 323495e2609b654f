using SpikeEngine.Nn;

namespace SpikeEngine.Cuda.Tests;

// The training primitives of the parity suite: batch norm, losses, random streams and the fused
// neuron scan (the harness and the other primitives are in BackendParityTests.cs).
public abstract partial class BackendParityTests
{
    // -- batch norm -----------------------------------------------------------------------

    // The per-channel sums split each channel's rows over several blocks: one row per block (n ≤
    // splits), several rows with a short last split (n = 1000 over few channels), and a single
    // block for the whole channel (many channels).
    [Theory]
    [InlineData(4, 3, 25)]
    [InlineData(1, 5, 1)]
    [InlineData(33, 2, 49)]
    [InlineData(2, 1, 4097)]
    [InlineData(1000, 3, 7)]
    [InlineData(3, 700, 9)]
    public void BatchNorm_train_and_backward(int n, int ch, int inner)
    {
        var total = n * ch * inner;
        var x = Rand(total, 25, -2f, 3f);
        var gamma = Rand(ch, 26, 0.5f, 1.5f);
        var beta = Rand(ch, 27);
        var gy = Rand(total, 28);
        var rm = Rand(ch, 29);
        var rv = Rand(ch, 30, 0.5f, 2f);
        Parity(
            $"BatchNorm({n},{ch},{inner})",
            c =>
            {
                var xt = c.F(x, total);
                var gt = c.F(gamma, ch);
                var y = c.E(total);
                var mean = c.E(ch);
                var istd = c.E(ch);
                var rmt = c.F(rm, ch);
                var rvt = c.F(rv, ch);
                c.B.BatchNormTrain(
                    xt,
                    gt,
                    c.F(beta, ch),
                    y,
                    mean,
                    istd,
                    rmt,
                    rvt,
                    n,
                    ch,
                    inner,
                    0.1f,
                    1e-5f
                );
                // The same normalisation with the statistics given (a recomputed segment's replay).
                var applied = c.E(total);
                c.B.BatchNormApply(xt, gt, c.F(beta, ch), mean, istd, applied, n, ch, inner);
                var gx = c.E(total);
                var gg = c.E(ch);
                var gb = c.E(ch);
                c.B.BatchNormBackward(xt, c.F(gy, total), gt, mean, istd, gx, gg, gb, n, ch, inner);
                return
                [
                    ("y", y),
                    ("applied", applied),
                    ("mean", mean),
                    ("invStd", istd),
                    ("runningMean", rmt),
                    ("runningVar", rvt),
                    ("gx", gx),
                    ("gGamma", gg),
                    ("gBeta", gb),
                ];
            },
            2e-4f,
            1e-3f
        );
    }

    // -- losses ---------------------------------------------------------------------------

    [Theory]
    [InlineData(4, 10, 0f)]
    [InlineData(1, 1000, 0.1f)]
    [InlineData(7, 3, 0.2f)]
    public void CrossEntropy_forward_and_backward(int n, int k, float smoothing)
    {
        var z = Rand(n * k, 31, -4f, 4f);
        var labels = Enumerable.Range(0, n).Select(i => (i * 7 + 3) % k).ToArray();
        Parity(
            $"CrossEntropy(N={n}, K={k}, eps={smoothing})",
            c =>
            {
                var lt = c.I(labels, n);
                var p = c.E(n, k);
                var loss = c.E(1);
                c.B.CrossEntropyForward(c.F(z, n, k), lt, smoothing, p, loss);
                var g = c.E(n, k);
                c.B.CrossEntropyBackward(p, lt, smoothing, 1.5f, g);
                return [("loss", loss), ("probs", p), ("gLogits", g)];
            },
            1e-6f,
            1e-5f
        );
    }

    // -- random ---------------------------------------------------------------------------

    [Theory]
    [InlineData(RandomKind.Uniform, -2f, 3f, 0f)]
    [InlineData(RandomKind.Bernoulli, 0.3f, 0f, 0f)]
    [InlineData(RandomKind.Normal, 0.5f, 2f, 1e-6f)]
    public void FillRandom_is_identical_to_the_cpu(RandomKind kind, float a, float b, float tol)
    {
        Parity(
            $"FillRandom({kind})",
            c =>
            {
                var y = c.E(100_003);
                c.B.FillRandom(y, kind, a, b, 0x5EED_1234UL);
                return [("y", y)];
            },
            tol,
            tol
        );
    }

    // -- neurons --------------------------------------------------------------------------

    public static TheoryData<NeuronKind, bool, bool, bool, int, DType, int, int> NeuronCases() =>
        new()
        {
            // kind, hard, detach, decayInput, surrogate, h dtype, T, M
            { NeuronKind.Lif, true, false, true, 0, DType.Float32, 5, 1000 },
            { NeuronKind.If, false, false, false, 1, DType.Float32, 1, 1000 },
            { NeuronKind.Plif, true, true, true, 3, DType.Float32, 4, 777 },
            { NeuronKind.Plif, false, false, false, 4, DType.Float32, 3, 1 },
            { NeuronKind.Lif, true, false, true, 2, DType.BFloat16, 6, 1025 },
            { NeuronKind.Lif, false, true, false, 5, DType.Float16, 2, 300 },
            { NeuronKind.Plif, true, false, true, 1, DType.BFloat16, 8, 513 },
        };

    private static ISurrogate SurrogateOf(int kind) =>
        kind switch
        {
            0 => Surrogate.Sigmoid(),
            1 => Surrogate.ATan(),
            2 => Surrogate.PiecewiseQuadratic(),
            3 => Surrogate.Erf(),
            4 => Surrogate.SuperSpike(),
            _ => Surrogate.Rect(),
        };

    [Theory]
    [MemberData(nameof(NeuronCases))]
    public void Neuron_forward_and_backward(
        NeuronKind kind,
        bool hard,
        bool detach,
        bool decay,
        int surrogate,
        DType hType,
        int T,
        int M
    )
    {
        // τ = 3 and PLIF w = 0.3: decays that float32 does not hold exactly, so a difference in
        // rounding between the backends (a contracted multiply-add) would show.
        var spec = new NeuronSpec(
            kind,
            1f / 3f,
            1.0f,
            hard ? 0.0f : null,
            decay,
            detach,
            SurrogateOf(surrogate)
        );
        var x = Rand(T * M, 32, -0.5f, 1.5f);
        var v0 = Rand(M, 33, -0.2f, 0.6f);
        var gs = Rand(T * M, 34);
        var gv = Rand(M, 35);
        // IF and LIF: every fourth x[0] puts H_0 on v_th or one ulp beside it (PLIF's k comes from
        // each platform's exp, so it is not planted).
        var reference = new NeuronCase(
            (int)kind,
            hard,
            detach,
            decay,
            spec.K,
            0.3f,
            spec.VThreshold,
            0f,
            surrogate,
            spec.Surrogate.Alpha
        );
        if (kind != NeuronKind.Plif)
            NeuronReference.PlantNearThreshold(reference, x, v0, M);
        // Spikes, the saved state (16-bit: H - v_th with its sign kept) and V_T are computed alike
        // and must agree to rounding in every storage type; so must backward, which runs from that
        // state (16-bit: the surrogate's exp differs between the CPU's and CUDA's by an ulp or two
        // at larger arguments, which the coarser state amplifies no more than this).
        var tol = hType == DType.Float32 ? 1e-5f : 1e-4f;
        Parity(
            $"Neuron({kind}, hard={hard}, detach={detach}, decay={decay}, sg={surrogate}, h={hType.Name()}, T={T}, M={M})",
            c =>
            {
                var w = kind == NeuronKind.Plif ? c.F([0.3f], 1) : null;
                var xt = c.F(x, T, M);
                var v0t = c.F(v0, M);
                var s = c.E(T, M);
                var h = c.E(hType, T, M);
                var vLast = c.E(M);
                var count = c.E(DType.Int32, 1);
                c.B.NeuronForward(spec, xt, v0t, w, s, h, vLast, count);
                var countF = c.E(1);
                c.B.Convert(count, countF);
                var s2 = c.E(T, M);
                var vLast2 = c.E(M);
                c.B.NeuronForward(spec, xt, null, w, s2, null, vLast2, null);
                var gx = c.E(T, M);
                var gv0 = c.E(M);
                // dL/dw exists for PLIF only (IBackend: "gw ... for PLIF when given").
                var gw = c.E(1);
                c.B.Fill(gw, 0f);
                c.B.NeuronBackward(
                    spec,
                    h,
                    v0t,
                    w,
                    c.F(gs, T, M),
                    c.F(gv, M),
                    gx,
                    gv0,
                    kind == NeuronKind.Plif ? gw : null
                );
                var gx2 = c.E(T, M);
                c.B.NeuronBackward(spec, h, v0t, w, null, c.F(gv, M), gx2, null, null);
                var hf = c.E(T, M);
                c.B.Convert(h, hf);
                return
                [
                    ("spikes", s),
                    ("h", hf),
                    ("vLast", vLast),
                    ("spikeCount", countF),
                    ("spikes (rest v0, no h)", s2),
                    ("vLast (rest v0)", vLast2),
                    ("gx", gx),
                    ("gv0", gv0),
                    ("gw", gw),
                    ("gx (no spike gradient)", gx2),
                ];
            },
            tol,
            tol
        );
    }

    /// <summary>
    /// IF neurons from rest over one step (H = x) planted at v_th, within float32 ulps and within
    /// fractions of a 16-bit ulp of it, for each storage type: spikes, saved state and the
    /// backward's recomputed spikes (dL/dx = 1 − S with detach_reset and dL/dV_T = 1) are exactly
    /// the CPU's.
    /// </summary>
    [Theory]
    [InlineData(DType.Float32)]
    [InlineData(DType.BFloat16)]
    [InlineData(DType.Float16)]
    public void Neuron_state_keeps_the_spike_decision_next_to_the_threshold(DType state)
    {
        foreach (var vth in new[] { 1f, 0.3f, MathF.Pow(2f, -10f) })
        {
            var hs = new List<float> { vth };
            float up = vth,
                down = vth;
            for (var j = 0; j < 3; j++)
            {
                up = MathF.BitIncrement(up);
                down = MathF.BitDecrement(down);
                hs.AddRange([up, down]);
            }
            foreach (var bits in new[] { 10, 7 })
            {
                var ulp = MathF.Pow(2f, MathF.ILogB(vth) - bits);
                foreach (var f in new[] { 0.25f, 0.5f, 1f, 1.5f })
                    hs.AddRange([vth + f * ulp, vth - f * ulp]);
            }
            var m = hs.Count;
            var spec = new NeuronSpec(NeuronKind.If, 1f, vth, 0f, false, true, Surrogate.Sigmoid());
            Parity(
                $"Neuron state {state.Name()} v_th={vth}",
                c =>
                {
                    var s = c.E(1, m);
                    var h = c.E(state, 1, m);
                    c.B.NeuronForward(spec, c.F([.. hs], 1, m), null, null, s, h, c.E(m), null);
                    var gx = c.E(1, m);
                    var ones = c.E(m);
                    c.B.Fill(ones, 1f);
                    c.B.NeuronBackward(spec, h, null, null, null, ones, gx, null, null);
                    var hf = c.E(1, m);
                    c.B.Convert(h, hf);
                    return [("spikes", s), ("saved state", hf), ("1 - backward spike", gx)];
                },
                0f,
                0f
            );
        }
    }
}
