using Xunit;

namespace SpikeEngine.Core.Tests;

/// <summary>
/// <see cref="Tensor.OnGradFinal"/>: called once per leaf during backward, as soon as no node
/// left to run feeds that leaf, with the gradient already complete (hand-computed values), leaves
/// used last in the forward pass first; never for a leaf the graph does not reach.
/// </summary>
public class OnGradFinalTests
{
    [Fact]
    public void EachLeafIsCalledOnceWithItsFinalGradientLastUsedFirst()
    {
        using var scope = TensorScope.Begin();
        var a = Tensor.FromArray([1f, 2f], [2]);
        var b = Tensor.FromArray([3f, -1f], [2]);
        var unused = Tensor.FromArray([5f], [1]);
        a.RequiresGrad = b.RequiresGrad = unused.RequiresGrad = true;
        var calls = new List<(string Leaf, float[] Grad)>();
        a.OnGradFinal = t => calls.Add(("a", t.Grad!.ToArray()));
        b.OnGradFinal = t => calls.Add(("b", t.Grad!.ToArray()));
        unused.OnGradFinal = t => calls.Add(("unused", t.Grad!.ToArray()));

        // L = Σ (a·a)·b + Σ a: a feeds three edges (twice into a·a, once into Σ a), b one.
        var loss = (a * a * b).Sum() + a.Sum();
        loss.Backward();

        // dL/da = 2ab + 1 = [7, -3]; dL/db = a² = [1, 4]. b's only edge is the later product,
        // so b is final before a, whose a·a edges run last.
        Assert.Equal(["b", "a"], calls.Select(c => c.Leaf));
        Assert.Equal([1f, 4f], calls[0].Grad);
        Assert.Equal([7f, -3f], calls[1].Grad);
        Assert.Equal(a.Grad!.ToArray(), calls[1].Grad);
        Assert.Null(unused.Grad);
    }

    [Fact]
    public void ALeafWithoutAHookChangesNothingAndALeafLossIsFinalAtOnce()
    {
        using var scope = TensorScope.Begin();
        var w = Tensor.FromArray([2f], [1]);
        w.RequiresGrad = true;
        var called = 0;
        w.OnGradFinal = t => called++;
        w.Backward();
        Assert.Equal(1, called);
        Assert.Equal([1f], w.Grad!.ToArray());

        var v = Tensor.FromArray([3f], [1]);
        v.RequiresGrad = true;
        (v * v).Sum().Backward();
        Assert.Equal([6f], v.Grad!.ToArray());
    }
}
