using Xunit;

namespace SpikeEngine.Testing;

/// <summary>
/// An absolute plus relative tolerance, <c>|actual - expected| ≤ Atol + Rtol·|expected|</c>, and
/// the table the test projects share: one entry per kind of comparison.
/// </summary>
public readonly record struct Tolerance(double Atol, double Rtol)
{
    /// <summary>Bit-for-bit results held to rounding: the same float32 arithmetic in another order.</summary>
    public static Tolerance Reordered => new(1e-6, 1e-6);

    /// <summary>Float32 on two backends (CPU against CUDA: fused multiply-adds, other reduction trees).</summary>
    public static Tolerance Backend => new(1e-5, 1e-5);

    /// <summary>A value kept in 16 bits (bfloat16 has 8 significant bits, float16 11).</summary>
    public static Tolerance For(DType stored) =>
        stored switch
        {
            DType.Float32 => Reordered,
            DType.Float16 => new(1e-3, 1e-3),
            DType.BFloat16 => new(1e-2, 1e-2),
            _ => throw new ArgumentException(
                $"Tolerance.For: no tolerance for {stored}",
                nameof(stored)
            ),
        };
}

/// <summary>
/// The one assert-close of the test projects: <c>|actual - expected| ≤ atol + rtol·|expected|</c>
/// everywhere. NaN matches only NaN and an infinity only the same infinity. A failure names the
/// tensor, the worst index and both values.
/// </summary>
public static class Approx
{
    public static void Close(
        string what,
        ReadOnlySpan<float> actual,
        ReadOnlySpan<double> expected,
        double atol,
        double rtol
    )
    {
        Assert.True(
            expected.Length == actual.Length,
            $"{what}: {actual.Length} values, expected {expected.Length}"
        );
        var worst = -1;
        var worstExcess = 0.0;
        for (var i = 0; i < actual.Length; i++)
        {
            double a = actual[i],
                e = expected[i];
            double excess;
            if (!double.IsFinite(a) || !double.IsFinite(e))
                excess = a.Equals(e) ? 0 : double.PositiveInfinity; // NaN.Equals(NaN) is true
            else
                excess = Math.Abs(a - e) - (atol + rtol * Math.Abs(e));
            if (excess > worstExcess)
            {
                worst = i;
                worstExcess = excess;
                if (double.IsPositiveInfinity(excess))
                    break;
            }
        }
        if (worst >= 0)
            Assert.Fail(
                $"{what}: worst index {worst} of {actual.Length}: actual {actual[worst]:G9}, expected {expected[worst]:G9} (atol {atol}, rtol {rtol})"
            );
    }

    public static void Close(
        string what,
        ReadOnlySpan<float> actual,
        ReadOnlySpan<float> expected,
        double atol,
        double rtol
    )
    {
        var wide = new double[expected.Length];
        for (var i = 0; i < wide.Length; i++)
            wide[i] = expected[i];
        Close(what, actual, wide, atol, rtol);
    }

    public static void Close(
        string what,
        ReadOnlySpan<float> actual,
        ReadOnlySpan<float> expected,
        Tolerance tolerance
    ) => Close(what, actual, expected, tolerance.Atol, tolerance.Rtol);

    /// <summary>Every element bit for bit (the same NaN payload included).</summary>
    public static void BitEqual(
        string what,
        ReadOnlySpan<float> actual,
        ReadOnlySpan<float> expected
    )
    {
        Assert.True(
            expected.Length == actual.Length,
            $"{what}: {actual.Length} values, expected {expected.Length}"
        );
        for (var i = 0; i < actual.Length; i++)
        {
            if (
                BitConverter.SingleToInt32Bits(actual[i])
                != BitConverter.SingleToInt32Bits(expected[i])
            )
                Assert.Fail(
                    $"{what}: index {i} is {actual[i]:G9}, expected {expected[i]:G9} (bit-exact)"
                );
        }
    }
}
