using Xunit;

namespace SpikeEngine.Nn.Tests.Neurons;

/// <summary>|actual - expected| ≤ atol + rtol·|expected| everywhere; a failure names the tensor, the worst index and its values.</summary>
internal static class Approx
{
    public static void Close(
        string what,
        float[] actual,
        float[] expected,
        double atol,
        double rtol
    )
    {
        Assert.True(
            expected.Length == actual.Length,
            $"{what}: length {actual.Length}, expected {expected.Length}"
        );
        var worst = -1;
        var worstExcess = 0.0;
        for (var i = 0; i < actual.Length; i++)
        {
            var err = Math.Abs((double)actual[i] - expected[i]);
            var excess = err - (atol + rtol * Math.Abs(expected[i]));
            if (
                !double.IsFinite(actual[i])
                || !double.IsFinite(expected[i])
                || excess > worstExcess
            )
            {
                worst = i;
                worstExcess = double.IsFinite(excess) ? excess : double.PositiveInfinity;
                if (!double.IsFinite(excess))
                    break;
            }
        }
        if (worst >= 0)
            Assert.Fail(
                $"{what}: index {worst} is {actual[worst]:G9}, expected {expected[worst]:G9} (atol {atol}, rtol {rtol})"
            );
    }

    public static void BitEqual(string what, float[] actual, float[] expected)
    {
        Assert.True(
            expected.Length == actual.Length,
            $"{what}: length {actual.Length}, expected {expected.Length}"
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
