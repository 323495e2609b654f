using Xunit;

namespace SpikeEngine.Core.Tests;

/// <summary>float32 ↔ bit conversion and the conv that saves a binary input bit-packed.</summary>
public class BitPackTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(13)]
    [InlineData(64)]
    [InlineData(200_003)] // several parallel chunks and a partial last byte
    public void PackUnpackRoundTrips(int n)
    {
        using var scope = TensorScope.Begin();
        var values = new float[n];
        for (var i = 0; i < n; i++)
            values[i] = (i * 7 + i / 3) % 5 == 0 ? 1f : 0f;
        var x = Tensor.FromArray(values, [n]);
        var bits = x.ToDType(DType.Bit);
        Assert.Equal((n + 7) / 8, bits.Storage.Bytes);
        Assert.Equal(values, bits.ToDType(DType.Float32).ToArray());
        // Bit i of byte i/8, little-endian within the byte.
        var raw = ((CpuStorage)bits.Storage).Span<byte>();
        for (var i = 0; i < Math.Min(n, 64); i++)
            Assert.Equal(values[i] != 0f, ((raw[i >> 3] >> (i & 7)) & 1) == 1);
    }

    [Fact]
    public void ConvWithPackedBinaryInputHasIdenticalGradients()
    {
        float[] Grad(bool pack, out long savedBytes)
        {
            using var scope = TensorScope.Begin();
            var raw = Tensor.Uniform([3, 5, 9, 9], 0f, 1f, seed: 4);
            var x = raw.ToArray().Select(v => v < 0.3f ? 1f : 0f).ToArray();
            var spikes = Tensor.FromArray(x, [3, 5, 9, 9]);
            spikes.IsBinary = true;
            var w = Tensor.Normal([4, 5, 3, 3], seed: 5, requiresGrad: true);
            using var rec = GraphRecorder.Start();
            var y = Ops.Conv2d(spikes, w, null, stride: 2, padding: 1, packBinaryInput: pack);
            savedBytes = rec.Nodes[0].SavedBytes; // x only: the input needs no gradient, so w is not kept
            var r = Tensor.Normal(y.Shape.ToArray(), seed: 6);
            (y * r).Sum().Backward();
            return w.Grad!.ToArray();
        }

        var dense = Grad(false, out var denseBytes);
        var packed = Grad(true, out var packedBytes);
        Assert.Equal(dense, packed); // bit-exact
        Assert.Equal(3 * 5 * 9 * 9 * 4, denseBytes);
        Assert.Equal((3 * 5 * 9 * 9 + 7) / 8, packedBytes);
    }

    [Fact]
    public void UnmarkedInputIsNeverPacked()
    {
        using var scope = TensorScope.Begin();
        var x = Tensor.FromArray([1f, 0f, 1f, 1f], [1, 1, 2, 2]);
        var w = Tensor.Normal([1, 1, 1, 1], seed: 1, requiresGrad: true);
        using var rec = GraphRecorder.Start();
        Ops.Conv2d(x, w, packBinaryInput: true);
        Assert.Equal(16, rec.Nodes[0].SavedBytes); // float32 x
    }
}
