using Xunit;

namespace SpikeEngine.Tests;

/// <summary>
/// <see cref="Tensor.GradFinalHook"/>: called once per backward for each leaf that receives a
/// gradient, after its last contribution and while backward still has nodes to run.
/// </summary>
public class GradFinalHookTests
{
    [Fact]
    public void HookSeesTheFinalGradientOnceBeforeEarlierLayersRun()
    {
        using var scope = TensorScope.Begin();
        // loss = sum(((x·a)·b)·b): b feeds two nodes, a feeds the first; the output side runs first.
        var x = Tensor.FromArray([1f, 2f, 3f], [3]);
        var a = Tensor.FromArray([0.5f, -1f, 2f], [3]);
        var b = Tensor.FromArray([3f, 0.25f, -2f], [3]);
        a.RequiresGrad = true;
        b.RequiresGrad = true;
        var unused = Tensor.FromArray([1f], [1]);
        unused.RequiresGrad = true;
        var events = new List<(string Leaf, float[] Grad)>();
        a.GradFinalHook = t => events.Add(("a", t.Grad!.ToArray()));
        b.GradFinalHook = t => events.Add(("b", t.Grad!.ToArray()));
        unused.GradFinalHook = t => events.Add(("unused", t.Grad!.ToArray()));
        var loss = (x * a * b * b).Sum();
        loss.Backward();

        Assert.Equal(["b", "a"], events.Select(e => e.Leaf));
        // d/db of x·a·b² = 2·x·a·b; d/da = x·b².
        float[] db = [2 * 1 * 0.5f * 3, 2 * 2 * -1f * 0.25f, 2 * 3 * 2f * -2];
        float[] da = [1 * 9f, 2 * 0.0625f, 3 * 4f];
        Assert.Equal(db, events[0].Grad);
        Assert.Equal(da, events[1].Grad);
        Assert.Equal(db, b.Grad!.ToArray());
    }

    [Fact]
    public void HookRunsForALeafThatIsTheLossItself()
    {
        var w = Tensor.FromArray([2f], [1]);
        w.RequiresGrad = true;
        int calls = 0;
        w.GradFinalHook = _ => calls++;
        w.Backward();
        Assert.Equal(1, calls);
        w.Backward();
        Assert.Equal(2, calls);
        Assert.Equal([2f], w.Grad!.ToArray());
    }
}
