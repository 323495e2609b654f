using SpikeEngine.Cpu;
using Xunit;

namespace SpikeEngine.Tests;

public class GemmTests
{
    public static TheoryData<bool, bool, int, int, int> Shapes() =>
        new()
        {
            { false, false, 7, 37, 5 },
            { true, false, 9, 16, 33 },
            { false, true, 13, 40, 17 },
            { true, true, 4, 3, 2 },
            { false, false, 64, 96, 70 },
        };

    private static (float[] A, float[] B, float[] C0, double[] Expected) Case(
        bool ta,
        bool tb,
        int m,
        int n,
        int k
    )
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
        return (a, b, c0, expected);
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void ManagedKernelMatchesFloat64(bool ta, bool tb, int m, int n, int k)
    {
        var (a, b, c0, expected) = Case(ta, tb, m, n, k);
        var c = (float[])c0.Clone();
        Gemm.Managed(ta, tb, m, n, k, 1.5f, a, ta ? m : k, b, tb ? k : n, 0.5f, c, n);
        GradCheck.AssertClose("managed gemm", c, expected, 1e-5, 1e-4);
    }

    /// <summary>
    /// OpenBLAS's cblas_sgemm against the float64 reference. Without OpenBLAS the test skips with
    /// the reason (<see cref="Blas.Status"/>); in CI (CI=true), which installs it, its absence fails.
    /// </summary>
    [Theory]
    [MemberData(nameof(Shapes))]
    public void OpenBlasKernelMatchesFloat64(bool ta, bool tb, int m, int n, int k)
    {
        if (!Blas.IsAvailable)
        {
            var reason = $"OpenBLAS GEMM not tested: {Blas.Status}";
            Require.MissingInstall(reason);
        }
        var (a, b, c0, expected) = Case(ta, tb, m, n, k);
        var c = (float[])c0.Clone();
        unsafe
        {
            fixed (
                float* pa = a,
                    pb = b,
                    pc = c
            )
                Blas.Sgemm(ta, tb, m, n, k, 1.5f, pa, ta ? m : k, pb, tb ? k : n, 0.5f, pc, n);
        }
        GradCheck.AssertClose("OpenBLAS gemm", c, expected, 1e-5, 1e-4);
    }
}
