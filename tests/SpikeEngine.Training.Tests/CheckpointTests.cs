using SpikeEngine.Training.Checkpoints;

namespace SpikeEngine.Training.Tests;

public sealed class CheckpointTests
{
    internal static CheckpointState State(int epoch, int step = 0) =>
        new()
        {
            Epoch = epoch,
            StepInEpoch = step,
            GlobalStep = epoch * 10 + step,
            Optimizer = "adamw",
            OptimizerSteps = epoch * 10 + step,
            Schedule = "cosine",
            Seed = 7,
            Run = new() { ["model"] = "m" },
        };

    [Fact]
    public void RoundTripPreservesTensorsAndState()
    {
        var dir = Temp.Dir();
        var store = new CheckpointStore(dir, keep: 3);
        using var w = Tensor.FromArray([1f, 2f, 3f, float.Epsilon], [2, 2]);
        using var m = Tensor.FromArray([0.5f], [1]);
        var path = store.Save(
            State(1) with
            {
                LossSum = 1.25,
                Correct = 9,
            },
            [("w", w)],
            [("w.exp_avg", m)]
        );
        Assert.EndsWith("ckpt-e0001-s000000.json", path);
        var ck = CheckpointStore.Load(path);
        Assert.Equal(1, ck.State.Epoch);
        Assert.Equal(1.25, ck.State.LossSum);
        Assert.Equal(9, ck.State.Correct);
        Assert.Equal("m", ck.State.Run["model"]);
        Assert.Equal([1f, 2f, 3f, float.Epsilon], ck.Model.Single().Data);
        Assert.Equal([0.5f], ck.OptimizerState.Single().Data);
        // also loadable through the model file's path
        Assert.Equal(1, CheckpointStore.Load(path.Replace(".json", ".safetensors")).State.Epoch);
        Assert.Empty(Directory.GetFiles(dir, "*.tmp"));
    }

    [Fact]
    public void KeepsOnlyTheNewestK()
    {
        var dir = Temp.Dir();
        var store = new CheckpointStore(dir, keep: 2);
        using var w = Tensor.FromArray([1f], [1]);
        for (int e = 1; e <= 4; e++)
            store.Save(State(e), [("w", w)], []);
        var names = store.List().Select(Path.GetFileName).ToArray();
        Assert.Equal(["ckpt-e0003-s000000.json", "ckpt-e0004-s000000.json"], names);
        Assert.Equal(6, Directory.GetFiles(dir).Length);
    }

    [Theory]
    [InlineData(".safetensors")]
    [InlineData(".optim.safetensors")]
    [InlineData(".json")]
    public void CorruptLatestIsRefusedNamingItAndOfferingThePreviousGoodOne(string which)
    {
        var dir = Temp.Dir();
        var store = new CheckpointStore(dir, keep: 5);
        using var w = Tensor.FromArray([1f, 2f, 3f, 4f], [4]);
        using var s = Tensor.FromArray([0.1f, 0.2f, 0.3f, 0.4f], [4]);
        var older = store.Save(State(1), [("w", w)], [("w.exp_avg", s)]);
        var newest = store.Save(State(2), [("w", w)], [("w.exp_avg", s)]);
        var target = newest.Replace(".json", which);
        var bytes = File.ReadAllBytes(target);
        bytes[bytes.Length - 3] ^= 0x5A; // one flipped byte
        File.WriteAllBytes(target, bytes);

        var e = Assert.Throws<CheckpointException>(() => store.LoadLatest());
        Assert.Contains(Path.GetFileName(target), e.Message);
        Assert.Contains("corrupt", e.Message);
        Assert.Contains("--resume-from " + older, e.Message);
        Assert.Equal(1, CheckpointStore.Load(older).State.Epoch);

        // A later save at the same position never overwrites the damaged checkpoint.
        var again = store.Save(State(2), [("w", w)], [("w.exp_avg", s)]);
        Assert.NotEqual(newest, again);
        Assert.Equal(bytes, File.ReadAllBytes(target));
    }

    [Fact]
    public void MissingCheckpointSaysHowToProceed()
    {
        var e = Assert.Throws<CheckpointException>(() =>
            new CheckpointStore(Temp.Dir()).LoadLatest()
        );
        Assert.Contains("without --resume", e.Message);
    }
}
