using SpikeEngine.Distributed;
using SpikeEngine.Distributed.Nccl;

namespace SpikeEngine.Cuda.Tests;

/// <summary>
/// The NCCL process group on the GPU machine (part of the GPU check bundle): a one-rank
/// communicator (one rank per GPU; this bundle runs one process) whose unique id goes through
/// a file, all-reducing and broadcasting tensors on the backend's stream; the results are the
/// inputs (sum and mean over one rank), read back after the stream is done. Skips visibly
/// without a GPU or without <c>libnccl.so.2</c>.
/// </summary>
public sealed class NcclTests
{
    [Fact]
    public void Library_search_reports_a_path_or_a_reason()
    {
        var line = NcclLibrary.Describe();
        Requirements.Log($"nccl: {line}");
        Assert.False(string.IsNullOrWhiteSpace(line));
    }

    [Fact]
    public void One_rank_communicator_all_reduces_and_broadcasts_on_the_device()
    {
        var backend = CudaTestBackend.Instance;
        if (!NcclLibrary.IsAvailable)
            Assert.Skip(NcclLibrary.Describe());
        var folder = Path.Combine(Path.GetTempPath(), "spike-nccl-" + Guid.NewGuid().ToString("N"));
        using var group = NcclProcessGroup.CreateWithFile(
            folder,
            rank: 0,
            size: 1,
            backend.Device,
            TimeSpan.FromSeconds(60)
        );
        Requirements.Log($"nccl: version {NcclProcessGroup.Version()}, {NcclLibrary.Describe()}");
        Assert.Equal(("nccl", 0, 1), (group.Kind, group.Rank, group.Size));
        using var scope = TensorScope.Begin();
        float[] av = [.. Enumerable.Range(0, 70_001).Select(i => (i % 97) * 0.25f - 3f)];
        float[] bv = [1.5f, -2f];
        var a = Tensor.FromArray(av, [av.Length], device: backend.Device);
        var b = Tensor.FromArray(bv, [2], device: backend.Device);
        group.AllReduceAsync([a, b], ReduceOp.Sum, "test bucket").Wait();
        Assert.Equal(av, a.ToArray());
        Assert.Equal(bv, b.ToArray());
        group.AllReduceAsync([a], ReduceOp.Mean, "test bucket").Wait();
        Assert.Equal(av, a.ToArray());
        group.Broadcast([b], root: 0);
        Assert.Equal(bv, b.ToArray());
        double[] host = [4, -1];
        group.AllReduce(host, ReduceOp.Sum);
        Assert.Equal([4.0, -1.0], host);
        group.Barrier();
    }

    [Fact]
    public void Cpu_device_is_refused_naming_the_option()
    {
        var e = Assert.Throws<ArgumentException>(() =>
            NcclProcessGroup.CreateWithFile(
                Path.GetTempPath(),
                0,
                1,
                Device.Cpu,
                TimeSpan.FromSeconds(1)
            )
        );
        Assert.Contains("--distributed nccl: needs a CUDA device", e.Message);
    }
}
