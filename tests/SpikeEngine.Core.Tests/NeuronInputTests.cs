using SpikeEngine.Cpu;
using Xunit;

namespace SpikeEngine.Tests;

/// <summary>
/// The CPU backend's one-pass rebuild of a neuron scan's input followed by BN's inverse affine map
/// (<see cref="IBackend.NeuronInputAffine"/>) against the composite of elementwise primitives it
/// replaces (<c>BnNeuronOps.ReconstructInput</c> then <c>ChannelAffine</c>), for every neuron kind,
/// reset, decay_input, state dtype, with and without v0, T = 1, and M spanning several parallel
/// chunks with planes that straddle them.
/// </summary>
public class NeuronInputTests
{
    public static TheoryData<NeuronKind, bool, bool, DType, bool, int> Cases()
    {
        var data = new TheoryData<NeuronKind, bool, bool, DType, bool, int>();
        foreach (var kind in new[] { NeuronKind.If, NeuronKind.Lif, NeuronKind.Plif })
        foreach (var hard in new[] { true, false })
        foreach (var dtype in new[] { DType.Float32, DType.Float16, DType.BFloat16 })
        {
            data.Add(kind, hard, true, dtype, false, 4);
            data.Add(kind, hard, false, dtype, true, 3);
        }
        data.Add(NeuronKind.Lif, true, true, DType.Float16, true, 1);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void FusedMatchesTheComposite(
        NeuronKind kind,
        bool hardReset,
        bool decayInput,
        DType stateDType,
        bool withV0,
        int t
    )
    {
        using var scope = TensorScope.Begin();
        var be = CpuBackend.Instance;
        const int channels = 7,
            inner = 45,
            batch = 31; // M = 9765: three chunks of 4096 columns, planes cut by the chunk edges
        var m = batch * channels * inner;
        var spec = new NeuronSpec(
            kind,
            0.5f,
            1f,
            hardReset ? -0.25f : null,
            decayInput,
            false,
            null!
        );
        var x = Tensor.Normal([t, m], 0.6f, 1.2f, seed: 21);
        var v0 = withV0 ? Tensor.Normal([m], 0f, 0.5f, seed: 22) : null;
        var w = kind == NeuronKind.Plif ? Tensor.FromArray([0.3f], [1]) : null;
        var spikes = Tensor.Empty([t, m]);
        var h = Tensor.Empty([t, m], dtype: stateDType);
        var vLast = Tensor.Empty([m]);
        be.NeuronForward(spec, x, v0, w, spikes, h, vLast, null);
        Assert.InRange(spikes.ToArray().Average(), 0.05, 0.95); // both branches of the reset run
        var scale = Tensor.Normal([channels], 1f, 0.3f, seed: 23);
        var shift = Tensor.Normal([channels], 0f, 0.5f, seed: 24);
        shift.Span()[2] = 0f; // the affine map skips a zero shift

        var fused = Tensor.Empty([t, m]);
        be.NeuronInputAffine(spec, h, v0, w, scale, shift, channels, inner, fused);
        var composite = BnNeuronOps.ReconstructInput(spec, h, v0, w);
        be.ChannelAffine(composite, scale, shift, t * batch, channels, inner, composite);

        var f = fused.ToArray();
        var c = composite.ToArray();
        for (var i = 0; i < f.Length; i++)
        {
            var tol = 1e-6 + 1e-6 * Math.Abs(c[i]);
            Assert.True(
                Math.Abs(f[i] - c[i]) <= tol,
                $"{kind} {stateDType} T={t}: element {i} fused {f[i]:R}, composite {c[i]:R}"
            );
        }
        if (stateDType == DType.Float32 && kind != NeuronKind.Plif)
        {
            // The rebuilt input is the forward's (float32 state: up to rounding), so the map runs on X.
            var xs = x.ToArray();
            var sc = scale.ToArray();
            var sh = shift.ToArray();
            for (var i = 0; i < f.Length; i += 97)
            {
                var ch = i / inner % channels;
                var expected = xs[i] * sc[ch] + sh[ch];
                Assert.True(
                    Math.Abs(f[i] - expected) <= 1e-4 + 1e-4 * Math.Abs(expected),
                    $"{kind} T={t}: element {i} rebuilt {f[i]:R}, forward's X mapped {expected:R}"
                );
            }
        }
    }

    [Fact]
    public void OperandsThatAreViewsAtAnOffsetAreReadFromTheirOffset()
    {
        // v0, scale and shift as views behind leading elements of a larger storage (as a slice
        // of a bigger tensor is): the fused pass must read them at their offsets, like the composite.
        using var scope = TensorScope.Begin();
        var be = CpuBackend.Instance;
        const int channels = 3,
            inner = 5,
            batch = 4,
            t = 2;
        var m = batch * channels * inner;
        var spec = new NeuronSpec(NeuronKind.Lif, 0.5f, 1f, -0.25f, true, false, null!);
        var x = Tensor.Normal([t, m], 0.6f, 1.2f, seed: 31);
        var v0Whole = Tensor.Normal([m + 7], 0f, 0.5f, seed: 32);
        var v0 = View(v0Whole, m, 7);
        var affine = Tensor.Normal([2 * channels + 3], 1f, 0.4f, seed: 33);
        var scale = View(affine, channels, 1);
        var shift = View(affine, channels, 1 + channels + 2);
        var spikes = Tensor.Empty([t, m]);
        var h = Tensor.Empty([t, m], dtype: DType.Float16);
        be.NeuronForward(spec, x, v0, null, spikes, h, Tensor.Empty([m]), null);

        var fused = Tensor.Empty([t, m]);
        be.NeuronInputAffine(spec, h, v0, null, scale, shift, channels, inner, fused);
        // The composite on plain copies of the same values.
        var v0Plain = Tensor.FromArray(v0.ToArray(), [m]);
        var composite = BnNeuronOps.ReconstructInput(spec, h, v0Plain, null);
        be.ChannelAffine(
            composite,
            Tensor.FromArray(scale.ToArray(), [channels]),
            Tensor.FromArray(shift.ToArray(), [channels]),
            t * batch,
            channels,
            inner,
            composite
        );
        var f = fused.ToArray();
        var c = composite.ToArray();
        for (var i = 0; i < f.Length; i++)
            Assert.True(
                Math.Abs(f[i] - c[i]) <= 1e-6 + 1e-6 * Math.Abs(c[i]),
                $"element {i}: fused {f[i]:R}, composite {c[i]:R}"
            );
    }

    private static Tensor View(Tensor whole, int length, long offset)
    {
        whole.Storage.Retain();
        return new Tensor(whole.Storage, new Shape(length), offset);
    }
}
