using SpikeEngine.Models;
using SpikeEngine.Nn;
using SpikeEngine.Training.Checkpoints;

namespace SpikeEngine.Training.Tests;

/// <summary>
/// <c>module.Save(path)</c> / <c>module.Load(path)</c>: every parameter and buffer round-trips bit
/// for bit into a model built from another seed, metadata comes back, the file is an ordinary
/// safetensors file, and a file of another model is refused naming the tensor.
/// </summary>
public sealed class ModuleFilesTests
{
    private static Module Tiny(ulong seed) =>
        ModelRegistry.Create("danet-mnist-tiny", ModelOptions.ForInput(4, 1, 8, seed));

    [Fact]
    public void SaveThenLoadRestoresEveryTensorAndTheMetadata()
    {
        var path = Path.Combine(Temp.Dir(), "tiny.safetensors");
        using var a = Tiny(1);
        // Buffers too: one forward in training mode moves the BN running statistics.
        using (var scope = TensorScope.Begin())
            a.Forward(Tensor.Normal([2, 3, 1, 8, 8], 0f, 1f, seed: 3));
        a.Save(path, ("model", "danet-mnist-tiny"), ("note", "first"));
        Assert.Equal([path], Directory.GetFiles(Path.GetDirectoryName(path)!)); // no temporary left

        using var b = Tiny(2);
        Assert.NotEqual(
            a.NamedTensors().First().Tensor.ToArray(),
            b.NamedTensors().First().Tensor.ToArray()
        );
        var meta = b.Load(path);
        Assert.Equal("danet-mnist-tiny", meta["model"]);
        Assert.Equal("first", meta["note"]);
        var expected = a.NamedTensors().ToDictionary(t => t.Name, t => t.Tensor.ToArray());
        foreach (var (name, t) in b.NamedTensors())
            Assert.Equal(expected[name], t.ToArray());
        Assert.Contains(
            b.NamedTensors(),
            t => t.Name.EndsWith("running_var", StringComparison.Ordinal)
        );

        // An ordinary safetensors file with the module's dotted names.
        var (tensors, _) = SafeTensors.Read(path);
        Assert.Equal(expected.Keys.Order(), tensors.Select(t => t.Name).Order());

        a.Save(path, ("model", "again")); // replaces the file
        Assert.Equal("again", b.Load(path)["model"]);
    }

    [Fact]
    public void AFileOfAnotherModelIsRefusedNamingTheTensor()
    {
        var path = Path.Combine(Temp.Dir(), "other.safetensors");
        using var lin = new Linear(3, 2, seed: 1);
        lin.Save(path);
        using var tiny = Tiny(1);
        var e = Assert.Throws<CheckpointException>(() => tiny.Load(path));
        Assert.Contains("has no tensor 'stem.weight'", e.Message);
        Assert.Contains(path, e.Message);
        var missing = Assert.Throws<CheckpointException>(() =>
            tiny.Load(Path.Combine(Temp.Dir(), "absent.safetensors"))
        );
        Assert.Contains("absent.safetensors", missing.Message);
        var dup = Assert.Throws<ArgumentException>(() => lin.Save(path, ("a", "1"), ("a", "2")));
        Assert.Contains("'a'", dup.Message);
    }
}
