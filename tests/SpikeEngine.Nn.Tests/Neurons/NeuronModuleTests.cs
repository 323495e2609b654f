using Xunit;

namespace SpikeEngine.Nn.Tests.Neurons;

/// <summary>The module API: step modes, state, saved-state storage types, statistics, arguments.</summary>
public class NeuronModuleTests
{
    [Fact]
    public void DefaultsAreSpikingJellys()
    {
        var lif = new LifNode();
        Assert.Equal(2f, lif.Tau);
        Assert.Equal(1f, lif.VThreshold);
        Assert.Equal(0f, lif.VReset);
        Assert.True(lif.DecayInput);
        Assert.False(lif.DetachReset);
        Assert.Equal(SurrogateKind.Sigmoid, lif.Surrogate.Kind);
        Assert.Equal(4f, lif.Surrogate.Alpha);
        Assert.Equal(StepMode.Multi, lif.StepMode);
        using var plif = new PlifNode(initTau: 3f);
        // sigmoid(w) = 1/initTau: w = -ln(initTau - 1)
        Assert.Equal((float)-Math.Log(2.0), plif.W.Item(), 1e-6);
        Assert.Equal(3f, plif.Tau, 1e-5);
        Assert.Single(plif.Parameters());
        Assert.Equal("w", plif.NamedParameters().Single().Name);
    }

    [Fact]
    public void SingleStepCallsEqualOneMultiStepCall()
    {
        using var scope = TensorScope.Begin();
        var x = Tensor.Normal([5, 3, 4], 0.6f, 1f, seed: 7);
        var multi = new LifNode(tau: 1.5f, vReset: null);
        var sm = multi.Forward(x).ToArray();
        var single = new LifNode(tau: 1.5f, vReset: null) { StepMode = StepMode.Single };
        var steps = new List<float>();
        var xs = x.ToArray();
        for (var t = 0; t < 5; t++)
        {
            var xt = Tensor.FromArray(xs[(t * 12)..((t + 1) * 12)], [3, 4]);
            var st = single.Forward(xt);
            Assert.Equal([3, 4], st.Shape.ToArray());
            steps.AddRange(st.ToArray());
        }
        Assert.Equal(sm, steps.ToArray());
        Assert.Equal(multi.V!.ToArray(), single.V!.ToArray());
        Assert.Equal([3, 4], multi.V!.Shape.ToArray());
    }

    [Fact]
    public void SingleStepGradientsThroughTheStateEqualMultiStepGradients()
    {
        using var scope = TensorScope.Begin();
        const int steps = 4,
            m = 6;
        var xa = Tensor.Normal([steps, m], 0.7f, 1f, seed: 3).ToArray();
        var v0a = Tensor.Uniform([m], -0.2f, 0.5f, seed: 4).ToArray();

        var multi = new PlifNode(initTau: 1.8f, vReset: null, surrogate: Surrogate.ATan());
        var x = Tensor.FromArray(xa, [steps, m], requiresGrad: true);
        var v0 = Tensor.FromArray(v0a, [m], requiresGrad: true);
        multi.V = v0;
        var s = multi.Forward(x);
        (s.Sum() + multi.V!.Sum() * 0.5f).Backward();

        var single = new PlifNode(initTau: 1.8f, vReset: null, surrogate: Surrogate.ATan())
        {
            StepMode = StepMode.Single,
        };
        var v0s = Tensor.FromArray(v0a, [m], requiresGrad: true);
        single.V = v0s;
        var xs = new Tensor[steps];
        var loss = Tensor.Zeros([1]);
        for (var t = 0; t < steps; t++)
        {
            xs[t] = Tensor.FromArray(xa[(t * m)..((t + 1) * m)], [m], requiresGrad: true);
            loss = loss + single.Forward(xs[t]).Sum();
        }
        (loss + single.V!.Sum() * 0.5f).Backward();

        var gx = x.Grad!.ToArray();
        for (var t = 0; t < steps; t++)
            Approx.Close(
                $"grad x step {t}",
                xs[t].Grad!.ToArray(),
                gx[(t * m)..((t + 1) * m)],
                Tolerance.Reordered
            );
        Approx.Close("grad V_0", v0s.Grad!.ToArray(), v0.Grad!.ToArray(), Tolerance.Reordered);
        Approx.Close("grad w", single.W.Grad!.ToArray(), multi.W.Grad!.ToArray(), 1e-6, 1e-5);
    }

    [Fact]
    public void ResetAndDetachState()
    {
        // LIF τ = 2, x = 1.2: window 1 H = 0.6, 0.9 (no spike, V = 0.9); window 2 continues from
        // 0.9: H = 1.05 (spike, V = 0), 0.6 — so the second window differs only if state carried.
        using var scope = TensorScope.Begin();
        var n = new LifNode();
        var x = Tensor.Full([2, 3], 1.2f, requiresGrad: true);
        Assert.Equal(new float[6], n.Forward(x).ToArray());
        Assert.NotNull(n.V!.GradFn);
        Approx.Close("V after window 1", n.V.ToArray(), [0.9f, 0.9f, 0.9f], 1e-6, 0);
        n.DetachState();
        Assert.Null(n.V!.GradFn);
        Assert.False(n.V.RequiresGrad);
        var s2 = n.Forward(x);
        Assert.Equal(new float[] { 1, 1, 1, 0, 0, 0 }, s2.ToArray());
        s2.Sum().Backward();
        Assert.NotNull(x.Grad);
        n.ResetState();
        Assert.Null(n.V);
        Assert.Equal(new float[6], n.Forward(x).ToArray());
    }

    [Fact]
    public void StateShapeMismatchIsRejected()
    {
        using var scope = TensorScope.Begin();
        var n = new IfNode();
        n.Forward(Tensor.Ones([2, 5]));
        var e = Assert.Throws<ArgumentException>(() => n.Forward(Tensor.Ones([2, 4])));
        Assert.Contains("IfNode", e.Message);
        Assert.Contains("ResetState", e.Message);
    }

    [Theory]
    [InlineData(DType.BFloat16, 3e-2)]
    [InlineData(DType.Float16, 2e-3)]
    public void HalfStoredStateGivesGradientsCloseToFloat32(DType dtype, double relL2)
    {
        // H saved in 2 bytes: the forward is unchanged (fp32 math), the gradients differ only by
        // the rounding of H (bf16: 8 bits, fp16: 11 bits of mantissa). Tolerance stated as the
        // relative L2 error of each gradient: bf16 3e-2, fp16 2e-3 (bf16 rounding can move an H across
        // v_th, which flips the recomputed spike of that neuron-step: measured 1.8e-2 here).
        using var scope = TensorScope.Begin();
        var xa = Tensor.Normal([8, 3000], 0.4f, 1f, seed: 11).ToArray();
        var r1 = Tensor.Uniform([8, 3000], -1f, 1f, seed: 12);
        float[] Grad(DType storage, out float[] spikes, out float gw)
        {
            var n = new PlifNode(vReset: 0f, surrogate: Surrogate.Sigmoid())
            {
                StateDType = storage,
            };
            var x = Tensor.FromArray(xa, [8, 3000], requiresGrad: true);
            var s = n.Forward(x);
            ((s * r1).Sum() + n.V!.Sum() * 0.5f).Backward();
            spikes = s.ToArray();
            gw = n.W.Grad!.Item();
            return x.Grad!.ToArray();
        }
        var g32 = Grad(DType.Float32, out var s32, out var w32);
        var g16 = Grad(dtype, out var s16, out var w16);
        Assert.Equal(s32, s16);
        Assert.NotEqual(g32, g16); // the storage type is really in use
        double num = 0,
            den = 0;
        for (var i = 0; i < g32.Length; i++)
        {
            num += (g16[i] - (double)g32[i]) * (g16[i] - g32[i]);
            den += (double)g32[i] * g32[i];
        }
        var rel = Math.Sqrt(num / den);
        Assert.True(rel < relL2, $"{dtype}: relative L2 error of grad x {rel:G3} >= {relL2}");
        Assert.True(
            Math.Abs(w16 - w32) < relL2 * Math.Abs(w32) + 1e-4,
            $"{dtype}: grad w {w16} vs {w32}"
        );
    }

    [Fact]
    public void HalfStorageNeedsTwoBytesPerNeuronStep()
    {
        using var scope = TensorScope.Begin();
        using var rec = GraphRecorder.Start();
        var n = new LifNode { StateDType = DType.BFloat16 };
        n.Forward(Tensor.Ones([4, 1000], requiresGrad: true));
        var scan = rec.Nodes.Single(x => x.Name == "neuron_scan");
        Assert.Equal(4 * 1000 * 2L, scan.SavedBytes);
    }

    [Fact]
    public void FiringStatsByLayerName()
    {
        using var scope = TensorScope.Begin();
        using var model = new TwoNeurons();
        model.Run(Tensor.Full([2, 4], 1.5f));
        var rates = FiringStats.Collect(model);
        Assert.Equal(["block.sn", "sn1"], rates.Keys.Order().ToArray());
        // sn1: x = 1.5 ≥ 1 fires every step (IF, hard reset to 0); block.sn gets the spikes (1.0 ≥ 1): fires every step too.
        Assert.Equal(1.0, rates["sn1"]);
        Assert.Equal(1.0, rates["block.sn"]);
        Assert.Equal(8L, FiringStats.CollectCounts(model)["sn1"]);
        model.Run(Tensor.Full([2, 4], 0.2f));
        Assert.Equal(0.0, FiringStats.Collect(model)["sn1"]);
    }

    private sealed class Block : Module
    {
        public Block() => Sn = Child("sn", new IfNode());

        public IfNode Sn { get; }

        public override Tensor Forward(Tensor x) => Sn.Forward(x);

        public override int[] InferShape(int[] shape, ShapeTrace trace) =>
            Sn.InferShape(shape, trace);
    }

    private sealed class TwoNeurons : Module
    {
        private readonly IfNode _sn1;
        private readonly Block _block;

        public TwoNeurons()
        {
            _sn1 = Child("sn1", new IfNode());
            _block = Child("block", new Block());
        }

        public Tensor Run(Tensor x)
        {
            ResetState();
            return Forward(x);
        }

        public override Tensor Forward(Tensor x)
        {
            using var s1 = _sn1.Forward(x);
            return _block.Forward(s1);
        }

        public override int[] InferShape(int[] shape, ShapeTrace trace) =>
            _block.InferShape(_sn1.InferShape(shape, trace), trace);
    }

    [Fact]
    public void BadArgumentsNameTheOpTheArgumentAndTheValue()
    {
        AssertBad(() => new LifNode(tau: 1f), "LifNode", "tau", "1");
        AssertBad(() => new LifNode(tau: float.NaN), "LifNode", "tau", "NaN");
        AssertBad(
            () => new LifNode(vThreshold: float.PositiveInfinity),
            "LifNode",
            "vThreshold",
            "Infinity"
        );
        AssertBad(() => new LifNode(vReset: float.NaN), "LifNode", "vReset", "NaN");
        AssertBad(() => new IfNode(vThreshold: float.NaN), "IfNode", "vThreshold", "NaN");
        AssertBad(() => new PlifNode(initTau: 0.5f), "PlifNode", "initTau", "0.5");
        AssertBad(() => new LifNode { StateDType = DType.Int32 }, "LifNode", "StateDType", "int32");
        using var scope = TensorScope.Begin();
        var spec = new LifNode().Spec;
        AssertBad(() => NeuronOps.Scan(spec, Tensor.Ones([3])), "neuron_scan", "x", "[3]");
        AssertBad(
            () => NeuronOps.Scan(spec, Tensor.Ones([3, 4]), Tensor.Ones([5])),
            "neuron_scan",
            "v0",
            "[5]"
        );
        AssertBad(
            () => NeuronOps.Scan(new PlifNode().Spec, Tensor.Ones([3, 4])),
            "neuron_scan",
            "w",
            "null"
        );
        AssertBad(
            () => NeuronOps.Scan(spec with { K = 1.5f }, Tensor.Ones([3, 4])),
            "neuron_scan",
            "k",
            "1.5"
        );
    }

    private static void AssertBad(Action a, string op, string arg, string value)
    {
        var e = Assert.ThrowsAny<ArgumentException>(a);
        Assert.Contains(op, e.Message);
        Assert.Contains(arg, e.Message);
        Assert.Contains(value, e.Message);
    }
}
