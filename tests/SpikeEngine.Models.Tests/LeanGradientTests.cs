using SpikeEngine.Nn;
using Xunit;

namespace SpikeEngine.Models.Tests;

/// <summary>
/// The default lean layout (bit-packed spikes, 16-bit H, BN → neuron fusion, conv → BN
/// recomputation) against the float32 standard layout at the engine's default neuron (LIF τ = 2,
/// v_th = 1, sigmoid α = 4): cifar stem, 10 classes, T = 4, batch 2, training-mode BN, and a loss
/// linear in the per-step logits, so every time step's gradient reaches every layer unscaled by a
/// softmax. The relative L2 error over all parameter gradients together must stay within 2e-3.
/// </summary>
public class LeanGradientTests
{
    private const int T = 4,
        N = 2,
        Classes = 10;

    private static Dictionary<string, float[]> Grads(string name, MemoryOptions memory)
    {
        var options = new ModelOptions
        {
            NumClasses = Classes,
            Stem = Stem.Cifar,
            Neuron = () =>
                new LifNode(tau: 2f, vThreshold: 1f, surrogate: new SigmoidSurrogate(4f)),
            Memory = memory,
            Seed = 11,
        };
        using var model = ModelRegistry.Create(name, options);
        using var scope = TensorScope.Begin();
        var x = Tensor.Normal([T, N, 3, 32, 32], 0f, 2f, seed: 13);
        var y = model.Forward(x);
        Assert.Equal([T, N, Classes], y.Shape.ToArray());
        var weights = Tensor.Normal([T, N, Classes], 0f, 1f, seed: 17);
        (y * weights).Sum().Backward();
        return model
            .NamedParameters()
            .ToDictionary(p => p.Name, p => p.Tensor.Grad?.ToArray() ?? []);
    }

    /// <summary>sqrt(Σ|g - r|²) / sqrt(Σ|r|²) over every parameter gradient.</summary>
    internal static double RelativeL2(
        Dictionary<string, float[]> reference,
        Dictionary<string, float[]> grads
    )
    {
        double num = 0,
            den = 0;
        foreach (var (p, r) in reference)
        {
            var g = grads[p];
            Assert.Equal(r.Length, g.Length);
            for (var i = 0; i < r.Length; i++)
            {
                var d = (double)g[i] - r[i];
                num += d * d;
                den += (double)r[i] * r[i];
            }
        }
        Assert.True(den > 0, "the reference gradient is zero: the test would prove nothing");
        return Math.Sqrt(num / den);
    }

    [Theory]
    [InlineData("sew-resnet18")]
    [InlineData("danet-pre-resnet18")]
    public void LeanGradientsMatchFloat32Standard(string family)
    {
        var reference = Grads(family, MemoryOptions.Standard);
        var lean = Grads(family, MemoryOptions.Lean);
        var rel = RelativeL2(reference, lean);
        Console.WriteLine($"{family} lean vs standard float32: gradient rel. L2 {rel:E2}");
        Assert.True(rel <= 2e-3, $"{family}: lean gradient rel. L2 {rel:E2} > 2e-3");
    }
}
