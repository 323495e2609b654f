using SpikeEngine.Nn.Tests.Neurons;
using Xunit;

namespace SpikeEngine.Nn.Tests.Layers;

/// <summary>
/// The lean layout's pieces inside Nn: the fused BN → neuron op against BN and the neuron run as
/// two ops, its fallback when |γ| is tiny, the spike mark, and the saved-bytes report of a tiny
/// chain checked by hand.
/// </summary>
public class LeanMemoryTests
{
    private const int T = 3,
        N = 2,
        C = 4,
        S = 5;

    public static TheoryData<string> Neurons() =>
        ["if", "lif", "lif-soft-nodecay", "lif-v0", "plif", "plif-v0-atan", "lif-fp16"];

    private static FusedNeuronNode NewNeuron(string kind) =>
        kind switch
        {
            "if" => new IfNode(vThreshold: 0.5f),
            "lif" or "lif-v0" or "lif-fp16" => new LifNode(vThreshold: 0.3f),
            "lif-soft-nodecay" => new LifNode(
                tau: 3f,
                vThreshold: 0.3f,
                vReset: null,
                decayInput: false
            ),
            "plif" => new PlifNode(vThreshold: 0.3f, vReset: -0.1f),
            "plif-v0-atan" => new PlifNode(vThreshold: 0.3f, surrogate: Surrogate.ATan()),
            _ => throw new ArgumentException(kind),
        };

    private sealed record Run(
        float[] Spikes,
        Dictionary<string, float[]> Grads,
        float[] XGrad,
        float[]? VGrad,
        float[] RunningMean,
        List<string> Ops
    );

    private static Run Step(string kind, bool fuse, bool zeroGamma = false)
    {
        var sn = NewNeuron(kind);
        var bn = new BatchNorm2d(C);
        using var chain = new Sequential(new Conv2d(3, C, 3, padding: 1, seed: 9), bn, sn);
        (
            MemoryOptions.Standard with
            {
                FuseBnNeuron = fuse,
                StateDType = kind == "lif-fp16" ? DType.Float16 : DType.Float32,
            }
        ).ApplyTo(chain);
        if (zeroGamma)
            bn.ZeroInitWeight();
        using var scope = TensorScope.Begin();
        var x = Tensor.Normal([T, N, 3, S, S], 0f, 1.5f, seed: 11, requiresGrad: true);
        Tensor? v0 = null;
        if (kind.Contains("v0"))
        {
            v0 = Tensor.Uniform([N, C, S, S], -0.2f, 0.2f, seed: 12, requiresGrad: true);
            sn.V = v0;
        }
        using var rec = GraphRecorder.Start();
        var s = chain.Forward(x);
        var r = Tensor.Normal([T, N, C, S, S], seed: 13);
        var loss = (s * r).Sum() + sn.V!.Sum() * 0.5f;
        loss.Backward();
        return new Run(
            s.ToArray(),
            chain.NamedParameters().ToDictionary(p => p.Name, p => p.Tensor.Grad!.ToArray()),
            x.Grad!.ToArray(),
            v0?.Grad?.ToArray(),
            bn.RunningMean.ToArray(),
            [.. rec.Nodes.Select(n => n.Name)]
        );
    }

    [Theory]
    [MemberData(nameof(Neurons))]
    public void FusedBnNeuronMatchesTheTwoOps(string kind)
    {
        var standard = Step(kind, fuse: false);
        var fused = Step(kind, fuse: true);
        Assert.Contains("bn_neuron_scan", fused.Ops);
        Assert.DoesNotContain("batch_norm", fused.Ops);
        Assert.Contains("batch_norm", standard.Ops);
        Approx.BitEqual("spikes", fused.Spikes, standard.Spikes);
        Approx.BitEqual("running_mean", fused.RunningMean, standard.RunningMean);
        // The BN input is rebuilt from H: float rounding of the inverted charge and affine maps;
        // from float16 H (both runs keep H in float16) the rebuilt input carries H's rounding.
        var (atol, rtol) = kind == "lif-fp16" ? (2e-3, 2e-3) : (1e-5, 1e-4);
        foreach (var (name, g) in standard.Grads)
            Approx.Close(name + ".grad", fused.Grads[name], g, atol, rtol);
        Approx.Close("x.grad", fused.XGrad, standard.XGrad, atol, rtol);
        if (standard.VGrad is not null)
            Approx.Close("v0.grad", fused.VGrad!, standard.VGrad, atol, rtol);
    }

    [Fact]
    public void FusionFallsBackToTheTwoOpsWhenGammaIsTiny()
    {
        var standard = Step("lif", fuse: false, zeroGamma: true);
        var fused = Step("lif", fuse: true, zeroGamma: true);
        Assert.DoesNotContain("bn_neuron_scan", fused.Ops);
        Assert.Contains("batch_norm", fused.Ops);
        foreach (var (name, g) in standard.Grads)
            Approx.BitEqual(name + ".grad", fused.Grads[name], g);
        Approx.BitEqual("x.grad", fused.XGrad, standard.XGrad);
    }

    [Fact]
    public void SpikesAreMarkedBinaryAndViewsKeepTheMark()
    {
        using var scope = TensorScope.Begin();
        var sn = new LifNode();
        var x = Tensor.Normal([2, 3, 4], 0f, 2f, seed: 1);
        var s = sn.Forward(x);
        Assert.True(s.IsBinary);
        Assert.True(s.Reshape(6, 4).IsBinary);
        Assert.True(s.Detach().IsBinary);
        Assert.False(x.IsBinary);
        Assert.False((s + s).IsBinary);
        var d = s.Detach();
        using (GradMode.NoGrad())
            d.Mul_(2f);
        Assert.False(d.IsBinary);
    }

    [Fact]
    public void SewAddMarksSpikeCountsAndViewsKeepTheBound()
    {
        using var scope = TensorScope.Begin();
        var sn = new LifNode();
        var x = Tensor.Normal([2, 3, 4], 0f, 2f, seed: 1);
        var s = sn.Forward(x);
        Assert.Equal(1, s.CountBound);
        Assert.Equal(0, x.CountBound);
        var two = Connect.Sew(SewConnect.Add, s, s);
        Assert.False(two.IsBinary);
        Assert.Equal(2, two.CountBound);
        var three = Connect.Sew(SewConnect.Add, s, two);
        Assert.Equal(3, three.CountBound);
        Assert.Equal(3, three.Reshape(6, 4).CountBound);
        Assert.Equal(3, three.Detach().CountBound);
        Assert.All(three.ToArray(), v => Assert.True(v is 0f or 1f or 2f or 3f, $"{v}"));
        // Only the SEW ADD of counts marks: a real-valued operand, a plain sum or AND do not.
        Assert.Equal(0, Connect.Sew(SewConnect.Add, s, x).CountBound);
        Assert.Equal(0, (s + s).CountBound);
        Assert.Equal(0, Connect.Sew(SewConnect.And, s, s).CountBound);
        var d = three.Detach();
        using (GradMode.NoGrad())
            d.Mul_(0.5f);
        Assert.Equal(0, d.CountBound);
        Assert.Equal(3, three.CountBound); // the other handle keeps its mark (as IsBinary)
    }

    // The fused BN → neuron op writes BN's output over an input the caller gives up: spikes,
    // every gradient and the running statistics are those of a new output buffer, bit for bit.
    [Theory]
    [InlineData("lif")]
    [InlineData("plif-v0-atan")]
    [InlineData("lif-fp16")]
    public void FusedBnNeuronOverAGivenUpInputIsBitIdentical(string kind)
    {
        (float[] Spikes, float[] XGrad, List<float[]> Grads, float[] Mean, bool Changed) Run(
            bool overwrite
        )
        {
            var sn = NewNeuron(kind);
            sn.StateDType = kind == "lif-fp16" ? DType.Float16 : DType.Float32;
            using var bn = new BatchNorm2d(C);
            using var scope = TensorScope.Begin();
            var x = Tensor.Normal([T, N, C, S, S], 0.3f, 1.5f, seed: 11, requiresGrad: true);
            var before = x.ToArray();
            if (kind.Contains("v0"))
                sn.V = Tensor.Uniform([N, C, S, S], -0.2f, 0.2f, seed: 12);
            var s = sn.ForwardAfter(bn, x, overwriteInput: overwrite);
            var changed = !x.ToArray().SequenceEqual(before);
            var r = Tensor.Normal([T, N, C, S, S], seed: 13);
            (s * r).Sum().Backward();
            List<float[]> grads = [.. bn.Parameters().Select(p => p.Grad!.ToArray())];
            grads.AddRange(sn.Parameters().Select(p => p.Grad!.ToArray()));
            return (s.ToArray(), x.Grad!.ToArray(), grads, bn.RunningMean.ToArray(), changed);
        }
        var fresh = Run(overwrite: false);
        var over = Run(overwrite: true);
        Assert.False(fresh.Changed);
        Assert.True(over.Changed); // BN's output was written over the input
        Approx.BitEqual("spikes", over.Spikes, fresh.Spikes);
        Approx.BitEqual("x.grad", over.XGrad, fresh.XGrad);
        Approx.BitEqual("running_mean", over.Mean, fresh.Mean);
        Assert.Equal(fresh.Grads.Count, over.Grads.Count);
        for (var i = 0; i < fresh.Grads.Count; i++)
            Approx.BitEqual($"grad {i}", over.Grads[i], fresh.Grads[i]);
    }

    [Fact]
    public void SavedBytesOfATinyChainByHand()
    {
        // conv 1→2 (1×1) – BN(2) – LIF – conv 2→2 (1×1) over x [T=2, N=1, 1, 2, 2]: the conv output,
        // BN output, H and spikes each have 16 elements; x has 8.
        static SavedBytesReport Report(MemoryOptions memory)
        {
            var conv1 = new Conv2d(1, 2, 1, seed: 1);
            var bn = new BatchNorm2d(2);
            var sn = new LifNode(vThreshold: 0.1f);
            var conv2 = new Conv2d(2, 2, 1, seed: 2);
            using var chain = new Sequential(conv1, bn, sn, conv2);
            memory.ApplyTo(chain);
            using var scope = TensorScope.Begin();
            var x = Tensor.Normal([2, 1, 1, 2, 2], seed: 3);
            using var rec = GraphRecorder.Start();
            var y = chain.Forward(x);
            var names = chain.NamedModules().ToDictionary(m => (object)m.Module, m => m.Name);
            var report = SavedBytesReport.Build(
                rec,
                chain.Parameters(),
                o => o is not null && names.TryGetValue(o, out var n) ? n : "(other)"
            );
            y.Sum().Backward();
            return report;
        }

        var standard = Report(MemoryOptions.Standard);
        // conv1: x 8·4 = 32; BN: input 16·4 + mean 2·4 + invStd 2·4 = 80; LIF: H 16·4 = 64;
        // conv2: spikes 16·4 = 64. Parameters (weights, γ, β) are not counted.
        Assert.Equal(
            new long[] { 32, 80, 64, 64 },
            standard.Rows.Select(r => r.SavedBytes).ToArray()
        );
        Assert.Equal(240, standard.SavedBytes);
        // Generic: conv1 x 32; BN input 64; neuron H 64 (not its input X: nothing keeps the BN
        // output); conv2 spikes 64. 12 B per neuron element for the conv–BN–neuron unit.
        Assert.Equal(
            new long[] { 32, 64, 64, 64 },
            standard.Rows.Select(r => r.GenericBytes).ToArray()
        );
        Assert.Equal(224, standard.GenericBytes);

        var lean = Report(MemoryOptions.Lean);
        // conv1 32; fused BN+LIF (owned by the neuron "2"): H 16·2 + mean 8 + invStd 8 = 48;
        // conv2: 16 bits = 2 bytes.
        Assert.Equal(new[] { "0", "2", "3" }, lean.Rows.Select(r => r.Layer).ToArray());
        Assert.Equal(new long[] { 32, 48, 2 }, lean.Rows.Select(r => r.SavedBytes).ToArray());
        Assert.Equal(82, lean.SavedBytes);
        // Generic is a property of the ops, not of the layout: the fused node counts BN's input
        // and H, the same 128 B as the two separate ops.
        Assert.Equal(new long[] { 32, 128, 64 }, lean.Rows.Select(r => r.GenericBytes).ToArray());
        Assert.Equal(224, lean.GenericBytes);
        Assert.Equal(82.0 / 224.0, lean.Ratio, 12);
    }
}
