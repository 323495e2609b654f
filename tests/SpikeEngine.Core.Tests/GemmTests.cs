using SpikeEngine.Cpu;
using Xunit;

namespace SpikeEngine.Tests;

public class GemmTests
{
    [Theory]
    [InlineData(false, false, 7, 37, 5)]
    [InlineData(true, false, 9, 16, 33)]
    [InlineData(false, true, 13, 40, 17)]
    [InlineData(true, true, 4, 3, 2)]
    [InlineData(false, false, 64, 96, 70)]
    public void ManagedAndBlasKernelsMatchFloat64(bool ta, bool tb, int m, int n, int k)
    {
        var rng = new Random(m * 1000 + n * 10 + k);
        var a = Enumerable.Range(0, m * k).Select(_ => (float)rng.NextDouble() - 0.5f).ToArray();
        var b = Enumerable.Range(0, k * n).Select(_ => (float)rng.NextDouble() - 0.5f).ToArray();
        var c0 = Enumerable.Range(0, m * n).Select(_ => (float)rng.NextDouble()).ToArray();
        var expected = new double[m * n];
        for (var i = 0; i < m; i++)
        for (var j = 0; j < n; j++)
        {
            double s = 0;
            for (var p = 0; p < k; p++)
                s +=
                    (ta ? a[p * m + i] : a[i * k + p]) * (double)(tb ? b[j * k + p] : b[p * n + j]);
            expected[i * n + j] = 1.5 * s + 0.5 * c0[i * n + j];
        }
        var c = (float[])c0.Clone();
        Gemm.Managed(ta, tb, m, n, k, 1.5f, a, ta ? m : k, b, tb ? k : n, 0.5f, c, n);
        GradCheck.AssertClose("managed gemm", c, expected, 1e-5, 1e-4);
        if (Blas.IsAvailable)
        {
            c = (float[])c0.Clone();
            Gemm.Run(ta, tb, m, n, k, 1.5f, a, ta ? m : k, b, tb ? k : n, 0.5f, c, n);
            GradCheck.AssertClose("blas gemm", c, expected, 1e-5, 1e-4);
        }
    }
}
