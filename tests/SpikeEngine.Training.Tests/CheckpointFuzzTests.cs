using SpikeEngine.Training.Checkpoints;

namespace SpikeEngine.Training.Tests;

/// <summary>
/// Thousands of mutated checkpoint sidecars and tensor files: loading raises only the documented
/// <see cref="CheckpointException"/> (or the data layer's <see cref="Data.DataFormatException"/> for
/// the tensor files it names) — never an index error, a null reference or a hang.
/// </summary>
public class CheckpointFuzzTests
{
    [Fact]
    public void MutatedSidecarsAndTensorFilesRaiseOnlyTheDocumentedExceptions()
    {
        var dir = Temp.Dir();
        var store = new CheckpointStore(dir, keep: 1);
        using var w = Tensor.FromArray([1f, 2f, 3f, 4f], [2, 2]);
        using var m = Tensor.FromArray([0.5f], [1]);
        var sidecar = store.Save(CheckpointTests.State(1), [("w", w)], [("w.exp_avg", m)]);
        var files = new[]
        {
            sidecar,
            sidecar.Replace(".json", ".safetensors"),
            sidecar.Replace(".json", ".optim.safetensors"),
        };
        var originals = files.Select(File.ReadAllBytes).ToArray();
        var rng = new Random(20261127);
        var loaded = 0;
        for (var round = 0; round < 3000; round++)
        {
            var which = round % files.Length;
            var bytes = (byte[])originals[which].Clone();
            switch (rng.Next(4))
            {
                case 0: // flip bytes
                    for (var k = rng.Next(1, 4); k > 0; k--)
                        bytes[rng.Next(bytes.Length)] ^= (byte)rng.Next(1, 256);
                    break;
                case 1: // truncate
                    bytes = bytes[..rng.Next(bytes.Length)];
                    break;
                case 2: // random garbage of random length
                    bytes = new byte[rng.Next(0, 256)];
                    rng.NextBytes(bytes);
                    break;
                default: // duplicate a slice
                    var at = rng.Next(bytes.Length);
                    bytes = [.. bytes[..at], .. bytes[rng.Next(bytes.Length)..], .. bytes[at..]];
                    break;
            }
            File.WriteAllBytes(files[which], bytes);
            try
            {
                CheckpointStore.Load(sidecar);
                loaded++; // a mutation that keeps the checkpoint valid (e.g. JSON whitespace)
            }
            catch (CheckpointException) { }
            catch (Data.DataFormatException) { }
            catch (Exception e)
            {
                Assert.Fail(
                    $"round {round}, file {Path.GetFileName(files[which])}: undocumented {e.GetType().Name}: {e.Message}"
                );
            }
            finally
            {
                File.WriteAllBytes(files[which], originals[which]);
            }
        }
        Assert.True(
            loaded < 300,
            $"{loaded} of 3000 mutated checkpoints loaded: the checksums are not checked"
        );
    }
}
