using SpikeEngine.Nn;

namespace SpikeEngine.Cuda.Tests;

// The training primitives of the parity suite: batch norm, losses, random streams and the fused
// neuron scan (the harness and the other primitives are in BackendParityTests.cs).
public abstract partial class BackendParityTests
{
    // -- batch norm -----------------------------------------------------------------------

    [Theory]
    [InlineData(4, 3, 25)]
    [InlineData(1, 5, 1)]
    [InlineData(33, 2, 49)]
    [InlineData(2, 1, 4097)]
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
                var gx = c.E(total);
                var gg = c.E(ch);
                var gb = c.E(ch);
                c.B.BatchNormBackward(xt, c.F(gy, total), gt, mean, istd, gx, gg, gb, n, ch, inner);
                return
                [
                    ("y", y),
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
        var spec = new NeuronSpec(
            kind,
            0.5f,
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
        // bf16/f16 storage rounds H: spikes computed in fp32 agree exactly, gradients to the storage precision.
        var tol = hType == DType.Float32 ? 1e-5f : 1e-2f;
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
}
