using System.Numerics;
using SpikeEngine.Cpu;
using Xunit;

namespace SpikeEngine.Tests;

/// <summary>The fast float32 exp that the fused Sigmoid surrogate uses.</summary>
public class NeuronScanTests
{
    [Fact]
    public void FastExpIsWithinThreeUlpOverItsRange()
    {
        var w = Vector<float>.Count;
        var xs = new float[w];
        double worst = 0;
        float worstX = 0;
        for (var y = -87f; y <= 88f; y += 0.00731f * w)
        {
            for (var i = 0; i < w; i++)
                xs[i] = y + 0.00731f * i;
            var e = NeuronScan.FastExp(new Vector<float>(xs));
            for (var i = 0; i < w; i++)
            {
                if (xs[i] > 88f)
                    continue;
                var exact = Math.Exp(xs[i]);
                var rel = Math.Abs(e[i] - exact) / exact;
                if (rel > worst)
                {
                    worst = rel;
                    worstX = xs[i];
                }
            }
        }
        // 3 ulp of float32 is 3 · 2^-23 ≈ 3.6e-7 relative.
        Assert.True(worst < 3.6e-7, $"FastExp worst relative error {worst:E2} at x = {worstX}");
    }

    [Fact]
    public void FastExpKeepsNaNAndClampsTheEnds()
    {
        var e = NeuronScan.FastExp(new Vector<float>(float.NaN));
        Assert.True(float.IsNaN(e[0]));
        Assert.True(
            float.IsNormal(NeuronScan.FastExp(new Vector<float>(float.NegativeInfinity))[0])
        );
        Assert.True(
            float.IsFinite(NeuronScan.FastExp(new Vector<float>(float.PositiveInfinity))[0])
        );
        Assert.Equal(1f, NeuronScan.FastExp(Vector<float>.Zero)[0]);
    }
}
