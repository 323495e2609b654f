using Xunit;

namespace SpikeEngine.Tests;

/// <summary>
/// Backward writes an input gradient over the incoming one where nothing else holds it
/// (<c>Node.Overwritable</c>): the values are those of a new buffer, bit for bit.
/// </summary>
public class GradientInPlaceTests
{
    [Fact]
    public void BatchNormBackwardOverTheIncomingGradientEqualsANewBuffer()
    {
        // (bn(x) * w).Sum(): the multiply's input gradient is held by nothing else, so BN writes
        // its input gradient over it; with the gradient passed from outside (another handle on
        // it) BN writes to a new buffer. Both must agree bit for bit, and the outside gradient
        // must be left as it was.
        float[] Run(bool shared, out float[] gammaGrad)
        {
            using var scope = TensorScope.Begin();
            var x = Tensor.Normal([4, 3, 5, 7], 0.3f, 1.7f, seed: 11);
            x.RequiresGrad = true;
            var gamma = Tensor.Normal([3], 1f, 0.2f, seed: 12);
            gamma.RequiresGrad = true;
            var beta = Tensor.Normal([3], 0f, 0.2f, seed: 13);
            beta.RequiresGrad = true;
            var rm = Tensor.Zeros([3]);
            var rv = Tensor.Ones([3]);
            var y = Ops.BatchNorm(x, gamma, beta, rm, rv, true, 0.1f, 1e-5f);
            var w = Tensor.Normal([4, 3, 5, 7], 0f, 1f, seed: 14);
            if (shared)
            {
                var g = w.Mul(1f);
                var copy = g.ToArray();
                y.Backward(g);
                Assert.Equal(copy, g.ToArray());
            }
            else
                (y * w).Sum().Backward();
            gammaGrad = gamma.Grad!.ToArray();
            return x.Grad!.ToArray();
        }
        var own = Run(shared: false, out var gOwn);
        var fresh = Run(shared: true, out var gFresh);
        Assert.Equal(fresh, own);
        Assert.Equal(gFresh, gOwn);
    }
}
