using SpikeEngine.Distributed.Mpi;

namespace SpikeEngine.Distributed.Tests;

/// <summary>The MPI group on one rank (MPICH's singleton start, no launcher): collectives give the hand-computed values.</summary>
[Collection("mpi")]
public class MpiProcessGroupTests
{
    [Fact]
    public void OneRankGroupReducesAndBroadcasts()
    {
        var g = MpiRequirement.Group();
        Assert.Equal(("mpi", 0, 1), (g.Kind, g.Rank, g.Size));
        float[] f = [1.5f, -2f, 3f];
        g.AllReduce(f, ReduceOp.Sum);
        Assert.Equal([1.5f, -2f, 3f], f);
        double[] d = [4, 6];
        g.AllReduce(d, ReduceOp.Mean);
        Assert.Equal([4.0, 6.0], d);
        byte[] bytes = [1, 2, 3];
        g.Broadcast(bytes, root: 0);
        Assert.Equal([1, 2, 3], bytes);
        g.Barrier();
    }

    [Fact]
    public void TensorAllReduceRunsAsynchronouslyAndLandsInPlace()
    {
        var g = MpiRequirement.Group();
        using var scope = TensorScope.Begin();
        var a = Tensor.FromArray([1f, 2f, 3f, 4f], [2, 2]);
        var b = Tensor.FromArray([-5f], [1]);
        var before = g.CollectiveCount;
        var work = g.AllReduceAsync([a, b], ReduceOp.Mean, "test bucket");
        Assert.Equal(before + 1, g.CollectiveCount);
        work.Wait();
        work.Wait(); // idempotent
        Assert.Equal([1f, 2f, 3f, 4f], a.ToArray());
        Assert.Equal([-5f], b.ToArray());
        Assert.True(work.Elapsed >= TimeSpan.Zero);
        g.Broadcast([a], root: 0);
        Assert.Equal([1f, 2f, 3f, 4f], a.ToArray());
    }

    [Fact]
    public void BadArgumentsAreRefusedNamingThem()
    {
        var g = MpiRequirement.Group();
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => g.Broadcast(new byte[1], root: 3));
        Assert.Contains("root must be a rank in [0, 1), got 3", e.Message);
        var t = Assert.Throws<ArgumentOutOfRangeException>(() =>
            MpiProcessGroup.Create(TimeSpan.Zero)
        );
        Assert.Contains("timeout must be positive", t.Message);
        using var scope = TensorScope.Begin();
        var i = Tensor.FromInt32([1, 2], [2]);
        var x = Assert.Throws<ArgumentException>(() => g.AllReduceAsync([i], ReduceOp.Sum, "x"));
        Assert.Contains("expected float32", x.Message);
    }
}
