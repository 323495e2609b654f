using Xunit;

namespace SpikeEngine.Tests;

public class SmokeTests
{
    [Fact]
    public void AddMulBackward()
    {
        using var a = Tensor.FromArray([1, 2, 3], [3], requiresGrad: true);
        using var b = Tensor.FromArray([4, 5, 6], [3], requiresGrad: true);
        using var y = (a * b + a).Sum();
        Assert.Equal(1 * 4 + 2 * 5 + 3 * 6 + 6, y.Item());
        y.Backward();
        Assert.Equal(new float[] { 5, 6, 7 }, a.Grad!.ToArray());
        Assert.Equal(new float[] { 1, 2, 3 }, b.Grad!.ToArray());
    }
}
