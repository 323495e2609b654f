using Xunit;

namespace SpikeEngine.Nn.Tests.Neurons;

/// <summary>
/// What the fused scan saves for backward (H in float32, D = H − v_th in bfloat16 or float16) and
/// what backward rebuilds from it: the spikes exactly as forward fired them, whatever the storage type.
/// </summary>
public class NeuronStateTests
{
    private static readonly IBackend Cpu = Backends.For(Device.Cpu);

    // Membranes planted at v_th and within a few float32 ulps and fractions of a 16-bit ulp of it,
    // above and below: where rounding H itself to 16 bits would land on v_th (or cross it).
    private static float[] Planted(float vth)
    {
        var values = new List<float> { vth };
        var up = vth;
        var down = vth;
        for (var j = 0; j < 3; j++)
        {
            up = MathF.BitIncrement(up);
            down = MathF.BitDecrement(down);
            values.Add(up);
            values.Add(down);
        }
        // ulp of float16 (10 fraction bits) and bfloat16 (7) at v_th
        foreach (var bits in new[] { 10, 7 })
        {
            var ulp = MathF.Pow(2f, MathF.ILogB(vth) - bits);
            foreach (var f in new[] { 0.25f, 0.5f, 0.75f, 1f, 1.5f })
            {
                values.Add(vth + f * ulp);
                values.Add(vth - f * ulp);
            }
        }
        // far from the threshold, both sides
        values.AddRange([vth - 3f, vth + 0.5f, 0f]);
        return [.. values];
    }

    public static TheoryData<DType, float> StateCases()
    {
        var data = new TheoryData<DType, float>();
        foreach (var dtype in new[] { DType.Float32, DType.BFloat16, DType.Float16 })
        {
            // 1: exact in every type; 0.3: exact in none; 2^-10: D = H - v_th next to v_th is far
            // below float16's smallest subnormal (2^-24), so a plain round would give -0.
            foreach (var vth in new[] { 1f, 0.3f, MathF.Pow(2f, -10f) })
                data.Add(dtype, vth);
        }
        return data;
    }

    /// <summary>
    /// IF neurons from rest (V_0 = 0, hard reset to 0) over one step, so H = x exactly. With
    /// detach_reset and only dL/dV_T = 1, dL/dx = dV/dH = 1 − S: backward's gradient shows the spike
    /// it recomputed from the saved state, which must be the one forward fired.
    /// </summary>
    [Theory]
    [MemberData(nameof(StateCases))]
    public void BackwardRecomputesTheForwardSpikes(DType state, float vth)
    {
        var spec = new NeuronSpec(NeuronKind.If, 1f, vth, 0f, false, true, Surrogate.Sigmoid());
        var hs = Planted(vth);
        var m = hs.Length;
        using var scope = TensorScope.Begin();
        var x = Tensor.FromArray(hs, [1, m]);
        var spikes = Tensor.Empty([1, m]);
        var h = Tensor.Empty([1, m], Device.Cpu, state);
        var vLast = Tensor.Empty([m]);
        Cpu.NeuronForward(spec, x, null, null, spikes, h, vLast, null);
        var gx = Tensor.Empty([1, m]);
        Cpu.NeuronBackward(spec, h, null, null, null, Tensor.Ones([m]), gx, null, null);
        var s = spikes.ToArray();
        var saved = h.ToDType(DType.Float32).ToArray();
        var g = gx.ToArray();
        for (var i = 0; i < m; i++)
        {
            var fired = hs[i] >= vth;
            Assert.True(
                s[i] == (fired ? 1f : 0f),
                $"H = {hs[i]:R}, v_th = {vth:R}: forward spike {s[i]}"
            );
            // float32 keeps H itself; 16-bit types keep H - v_th
            var d = state == DType.Float32 ? saved[i] - vth : saved[i];
            Assert.True(
                d >= 0f == fired,
                $"{state.Name()} H = {hs[i]:R}, v_th = {vth:R}: saved state {saved[i]:R} is on the wrong side"
            );
            Assert.True(
                g[i] == (fired ? 0f : 1f),
                $"{state.Name()} H = {hs[i]:R}, v_th = {vth:R}: forward spike {s[i]}, backward used {1f - g[i]}"
            );
        }
    }

    /// <summary>
    /// The saved state is H − v_th rounded once to the storage type (nearest even), except where the
    /// sign would be lost: the surrogate is evaluated at the 16-bit value next to the threshold, not
    /// at a rounded H minus v_th.
    /// </summary>
    [Theory]
    [InlineData(DType.BFloat16)]
    [InlineData(DType.Float16)]
    public void SavedStateIsTheMembraneRelativeToTheThreshold(DType state)
    {
        const float vth = 1f;
        var spec = new NeuronSpec(NeuronKind.If, 1f, vth, 0f, false, true, Surrogate.Sigmoid());
        var hs = Planted(vth);
        var m = hs.Length;
        using var scope = TensorScope.Begin();
        var x = Tensor.FromArray(hs, [1, m]);
        var h = Tensor.Empty([1, m], Device.Cpu, state);
        Cpu.NeuronForward(spec, x, null, null, Tensor.Empty([1, m]), h, Tensor.Empty([m]), null);
        var saved = h.ToDType(DType.Float32).ToArray();
        var expected = Tensor
            .FromArray([.. hs.Select(v => v - vth)], [1, m])
            .ToDType(state)
            .ToDType(DType.Float32)
            .ToArray();
        for (var i = 0; i < m; i++)
            Assert.True(
                saved[i] == expected[i],
                $"{state.Name()} H = {hs[i]:R}: saved {saved[i]:R}, expected round(H - v_th) = {expected[i]:R}"
            );
        // next to v_th a 16-bit H could not tell v_th + 2^-23 from v_th; D keeps it
        Assert.Contains(saved, v => v > 0f && v < 1e-6f);
    }

    /// <summary>
    /// PLIF's dL/dx needs k = sigmoid(w) whether or not w learns: with a frozen w backward must run
    /// and give the same dL/dx as with a learning one, and no gradient for w.
    /// </summary>
    [Fact]
    public void PlifBackwardWithAFrozenWeight()
    {
        const int T = 3,
            M = 37;
        var spec = new NeuronSpec(NeuronKind.Plif, 1f, 1f, 0f, true, false, Surrogate.Sigmoid());
        var rng = new Random(7);
        var xs = Enumerable.Range(0, T * M).Select(_ => rng.NextSingle() * 2f - 0.5f).ToArray();
        var r = Enumerable.Range(0, T * M).Select(_ => rng.NextSingle() - 0.5f).ToArray();
        float[] GradX(bool learnW, out Tensor w)
        {
            using var scope = TensorScope.Begin();
            w = Tensor.FromArray([0.3f], [1], requiresGrad: learnW);
            scope.Keep(w);
            var x = Tensor.FromArray(xs, [T, M], requiresGrad: true);
            var (s, v) = NeuronOps.Scan(spec, x, w: w);
            ((s * Tensor.FromArray(r, [T, M])).Sum() + 0.5f * v.Sum()).Backward();
            return x.Grad!.ToArray();
        }
        var learning = GradX(true, out var wLearn);
        var frozen = GradX(false, out var wFrozen);
        Assert.NotNull(wLearn.Grad);
        Assert.Null(wFrozen.Grad);
        Assert.Contains(learning, g => g != 0f);
        Assert.Equal(learning, frozen);
        wLearn.Dispose();
        wFrozen.Dispose();
    }

    [Fact]
    public void SpikeCountIsRefusedWhereInt32CouldOverflow()
    {
        NeuronSpec.CheckSpikeCount("NeuronForward", 4, int.MaxValue / 4);
        var e = Assert.Throws<ArgumentException>(() =>
            NeuronSpec.CheckSpikeCount("NeuronForward", 4, int.MaxValue / 4 + 1)
        );
        Assert.Contains("NeuronForward", e.Message);
        Assert.Contains("spikeCount", e.Message);
    }
}
