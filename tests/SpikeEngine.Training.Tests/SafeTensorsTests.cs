using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using SpikeEngine.Data;
using SpikeEngine.Training.Checkpoints;

namespace SpikeEngine.Training.Tests;

public sealed class SafeTensorsTests
{
    [Fact]
    public void EngineFileHasThePublicHeaderLayout()
    {
        using var a = Tensor.FromArray([1f, -2.5f, 3f, 4f, 5f, 6f], [2, 3]);
        using var b = Tensor.FromArray([0.125f], [1]);
        var bytes = SafeTensors.Serialize(
            [("layer.weight", a), ("layer.bias", b)],
            new Dictionary<string, string> { ["epoch"] = "3" }
        );

        // Independent parse: u64 LE header length, UTF-8 JSON, offsets relative to the data section.
        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        Assert.Equal(0UL, n % 8);
        Assert.True(8 + (long)n <= bytes.Length);
        var headerText = Encoding.UTF8.GetString(bytes, 8, (int)n);
        Assert.StartsWith("{", headerText);
        using var doc = JsonDocument.Parse(headerText);
        var root = doc.RootElement;
        Assert.Equal("3", root.GetProperty("__metadata__").GetProperty("epoch").GetString());
        var w = root.GetProperty("layer.weight");
        Assert.Equal("F32", w.GetProperty("dtype").GetString());
        Assert.Equal([2, 3], w.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal(
            [0L, 24L],
            w.GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt64())
        );
        var bias = root.GetProperty("layer.bias");
        Assert.Equal(
            [24L, 28L],
            bias.GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt64())
        );
        int data = 8 + (int)n;
        Assert.Equal(data + 28, bytes.Length);
        Assert.Equal(-2.5f, BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(data + 4)));
        Assert.Equal(0.125f, BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(data + 24)));

        var (tensors, meta) = SafeTensors.Parse(bytes, "mem");
        Assert.Equal("3", meta["epoch"]);
        Assert.Equal(
            [1f, -2.5f, 3f, 4f, 5f, 6f],
            tensors.Single(t => t.Name == "layer.weight").Data
        );
    }

    private static byte[] Make(string header, int dataBytes)
    {
        var h = Encoding.UTF8.GetBytes(header);
        var bytes = new byte[8 + h.Length + dataBytes];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)h.Length);
        h.CopyTo(bytes, 8);
        return bytes;
    }

    [Theory]
    [InlineData(
        """{"w":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}}""",
        4,
        "entry 'w'",
        "expected F32"
    )]
    [InlineData(
        """{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}""",
        8,
        "entry 'w'",
        "needs 12"
    )]
    [InlineData(
        """{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}""",
        4,
        "entry 'w'",
        "past the 4-byte data section"
    )]
    [InlineData(
        """{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}""",
        12,
        "offset",
        "trailing"
    )]
    [InlineData(
        """{"w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}""",
        8,
        "entry 'w'",
        "expected 0"
    )]
    [InlineData(
        """{"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}""",
        4,
        "entry 'w'",
        "non-negative"
    )]
    [InlineData("""{"w":[1,2]}""", 0, "entry 'w'", "must be an object")]
    [InlineData("""[1,2]""", 0, "header", "JSON object")]
    [InlineData("""{"w":""", 0, "header", "not valid JSON")]
    public void MalformedHeadersNameFileWhereAndWhat(
        string header,
        int dataBytes,
        string where,
        string what
    )
    {
        var e = Assert.Throws<DataFormatException>(() =>
            SafeTensors.Parse(Make(header, dataBytes), "bad.safetensors")
        );
        Assert.Equal("bad.safetensors", e.File);
        Assert.Contains(where, e.Location);
        Assert.Contains(what, e.Problem);
    }

    [Fact]
    public void TruncatedFilesAreRefused()
    {
        using var a = Tensor.FromArray([1f, 2f, 3f], [3]);
        var bytes = SafeTensors.Serialize([("a", a)]);
        for (int cut = 0; cut < bytes.Length; cut++)
            Assert.Throws<DataFormatException>(() =>
                SafeTensors.Parse(bytes.AsSpan(0, cut), "t.safetensors")
            );
        var huge = (byte[])bytes.Clone();
        BinaryPrimitives.WriteUInt64LittleEndian(huge, ulong.MaxValue);
        var e = Assert.Throws<DataFormatException>(() => SafeTensors.Parse(huge, "t.safetensors"));
        Assert.Equal("offset 0", e.Location);
    }

    [Fact]
    public void MutatedBytesRaiseOnlyTheDocumentedException()
    {
        using var a = Tensor.FromArray([1f, 2f, 3f, 4f], [2, 2]);
        using var b = Tensor.FromArray([5f], [1]);
        var good = SafeTensors.Serialize(
            [("a", a), ("b", b)],
            new Dictionary<string, string> { ["k"] = "v" }
        );
        var rng = new Random(42);
        for (int i = 0; i < 2000; i++)
        {
            var bytes = (byte[])good.Clone();
            int edits = 1 + rng.Next(4);
            for (int k = 0; k < edits; k++)
                bytes[rng.Next(Math.Min(bytes.Length, i % 2 == 0 ? 120 : bytes.Length))] = (byte)
                    rng.Next(256);
            if (i % 7 == 0)
                bytes = bytes[..rng.Next(bytes.Length)];
            try
            {
                SafeTensors.Parse(bytes, "fuzz");
            }
            catch (DataFormatException) { }
        }
    }
}
