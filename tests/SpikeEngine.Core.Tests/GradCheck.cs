using Xunit;

namespace SpikeEngine.Tests;

/// <summary>
/// Checks an op against an independent float64 twin: the forward values, and the engine's
/// float32 gradients against central finite differences of the twin.
/// </summary>
public static class GradCheck
{
    /// <summary>Float64 reference: inputs (flat, row-major) → output (flat).</summary>
    public delegate double[] Reference(double[][] inputs);

    public static void Run(
        Func<Tensor[], Tensor> op,
        Reference reference,
        Tensor[] inputs,
        double forwardTol = 1e-5,
        double atol = 1e-4,
        double rtol = 2e-3,
        double h = 1e-6,
        bool[]? differentiable = null
    )
    {
        using var scope = TensorScope.Begin();
        foreach (var t in inputs)
        {
            t.Grad?.Dispose();
            t.Grad = null;
        }
        var x64 = inputs.Select(t => t.ToArray().Select(v => (double)v).ToArray()).ToArray();
        var y = op(inputs);
        var yRef = reference(x64);
        var yv = y.ToArray();
        Assert.Equal(yRef.Length, yv.Length);
        AssertClose("forward", yv, yRef, forwardTol, forwardTol);

        // Random projection r: loss = Σ r·y, so ∂loss/∂x = Jᵀ r.
        var r = Tensor.Normal(y.Shape.ToArray(), seed: 12345);
        var rv = r.ToArray().Select(v => (double)v).ToArray();
        y.Backward(r);
        for (var k = 0; k < inputs.Length; k++)
        {
            if (differentiable is not null && !differentiable[k])
                continue;
            if (!inputs[k].RequiresGrad)
                continue;
            Assert.NotNull(inputs[k].Grad);
            var g = inputs[k].Grad!.ToArray();
            var fd = new double[g.Length];
            for (var j = 0; j < g.Length; j++)
            {
                var saved = x64[k][j];
                x64[k][j] = saved + h;
                var plus = Dot(reference(x64), rv);
                x64[k][j] = saved - h;
                var minus = Dot(reference(x64), rv);
                x64[k][j] = saved;
                fd[j] = (plus - minus) / (2 * h);
            }
            AssertClose($"grad of input {k}", g, fd, atol, rtol);
        }
    }

    private static double Dot(double[] a, double[] b)
    {
        double s = 0;
        for (var i = 0; i < a.Length; i++)
            s += a[i] * b[i];
        return s;
    }

    /// <summary>|actual - expected| ≤ atol + rtol·|expected| everywhere; names the worst index.</summary>
    public static void AssertClose(
        string what,
        float[] actual,
        double[] expected,
        double atol,
        double rtol
    ) => Approx.Close(what, actual, expected, atol, rtol);

    public static void AssertClose(
        string what,
        float[] actual,
        float[] expected,
        double atol,
        double rtol
    ) => Approx.Close(what, actual, expected, atol, rtol);

    public static Tensor Rand(int[] shape, ulong seed, bool grad = true, float std = 1f) =>
        TensorScope.Unscoped(Tensor.Normal(shape, 0f, std, seed, requiresGrad: grad));
}
