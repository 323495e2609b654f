using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using SpikeEngine.Data;

namespace SpikeEngine.Training.Checkpoints;

/// <summary>One float32 tensor read from a safetensors file.</summary>
public sealed record NamedArray(string Name, int[] Shape, float[] Data);

/// <summary>
/// The safetensors format (Hugging Face; readable by <c>safetensors.torch.load_file</c>):
/// an 8-byte little-endian unsigned header length N, N bytes of UTF-8 JSON
/// (<c>{"NAME": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, "__metadata__": {"k": "v"}}</c>,
/// offsets relative to the data section, padded with spaces to a multiple of 8), then the data
/// section: the tensors' little-endian bytes, contiguous, in header order. The engine writes and
/// reads float32 only. Malformed input raises <see cref="DataFormatException"/> naming the file,
/// the offset or entry, and what was expected.
/// </summary>
public static class SafeTensors
{
    /// <summary>Largest header accepted (the reference implementation's limit, 100 MB).</summary>
    public const long MaxHeaderBytes = 100_000_000;

    /// <summary>Serialises <paramref name="tensors"/> (names unique, not <c>__metadata__</c>) with optional string metadata.</summary>
    public static byte[] Serialize(
        IEnumerable<(string Name, Tensor Tensor)> tensors,
        IReadOnlyDictionary<string, string>? metadata = null
    )
    {
        var items = tensors
            .Select(t => (t.Name, Shape: t.Tensor.Shape.ToArray(), Data: t.Tensor.ToArray()))
            .ToList();
        return Serialize(items.Select(i => new NamedArray(i.Name, i.Shape, i.Data)), metadata);
    }

    /// <summary>Serialises host arrays (float32) with optional string metadata.</summary>
    public static byte[] Serialize(
        IEnumerable<NamedArray> arrays,
        IReadOnlyDictionary<string, string>? metadata = null
    )
    {
        var list = arrays.ToList();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        using var headerStream = new MemoryStream();
        using (var w = new Utf8JsonWriter(headerStream))
        {
            w.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                w.WriteStartObject("__metadata__");
                foreach (var (k, v) in metadata)
                    w.WriteString(k, v);
                w.WriteEndObject();
            }
            long offset = 0;
            foreach (var a in list)
            {
                if (a.Name == "__metadata__" || !seen.Add(a.Name))
                    throw new ArgumentException(
                        $"safetensors: tensor name '{a.Name}' is reserved or used twice"
                    );
                long numel = a.Shape.Aggregate(1L, (x, d) => x * d);
                if (numel != a.Data.Length)
                    throw new ArgumentException(
                        $"safetensors: '{a.Name}' has {a.Data.Length} values for shape [{string.Join(", ", a.Shape)}]"
                    );
                w.WriteStartObject(a.Name);
                w.WriteString("dtype", "F32");
                w.WriteStartArray("shape");
                foreach (var d in a.Shape)
                    w.WriteNumberValue(d);
                w.WriteEndArray();
                w.WriteStartArray("data_offsets");
                w.WriteNumberValue(offset);
                w.WriteNumberValue(offset + numel * 4);
                w.WriteEndArray();
                w.WriteEndObject();
                offset += numel * 4;
            }
            w.WriteEndObject();
        }
        var header = headerStream.ToArray();
        int padded = (header.Length + 7) / 8 * 8;
        long dataBytes = list.Sum(a => (long)a.Data.Length * 4);
        var bytes = new byte[checked(8 + padded + dataBytes)];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)padded);
        header.CopyTo(bytes, 8);
        bytes.AsSpan(8 + header.Length, padded - header.Length).Fill((byte)' ');
        long pos = 8 + padded;
        foreach (var a in list)
        {
            var dst = bytes.AsSpan((int)pos, a.Data.Length * 4);
            if (BitConverter.IsLittleEndian)
                System.Runtime.InteropServices.MemoryMarshal.AsBytes(a.Data.AsSpan()).CopyTo(dst);
            else
                for (int i = 0; i < a.Data.Length; i++)
                    BinaryPrimitives.WriteSingleLittleEndian(dst[(i * 4)..], a.Data[i]);
            pos += a.Data.Length * 4L;
        }
        return bytes;
    }

    /// <summary>Reads a safetensors file; see <see cref="Parse"/>.</summary>
    public static (List<NamedArray> Tensors, Dictionary<string, string> Metadata) Read(
        string path
    ) => Parse(File.ReadAllBytes(path), path);

    /// <summary>
    /// Parses safetensors bytes (<paramref name="file"/> names them in errors). Checks the header
    /// length against the file, the JSON, every entry's dtype (F32), shape, and data offsets
    /// (within the data section, matching the shape, contiguous and covering it exactly).
    /// </summary>
    public static (List<NamedArray> Tensors, Dictionary<string, string> Metadata) Parse(
        ReadOnlySpan<byte> bytes,
        string file
    )
    {
        if (bytes.Length < 8)
            throw new DataFormatException(
                file,
                "offset 0",
                $"file is {bytes.Length} bytes; a safetensors file starts with an 8-byte header length"
            );
        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        if (n > MaxHeaderBytes)
            throw new DataFormatException(
                file,
                "offset 0",
                $"header length {n} exceeds the {MaxHeaderBytes}-byte limit; not a safetensors file"
            );
        if ((long)n > bytes.Length - 8)
            throw new DataFormatException(
                file,
                "offset 0",
                $"header length {n} runs past the end of the {bytes.Length}-byte file (truncated?)"
            );
        var dataStart = 8 + (int)n;
        var dataLength = bytes.Length - dataStart;
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(bytes.Slice(8, (int)n).ToArray());
        }
        catch (JsonException e)
        {
            throw new DataFormatException(
                file,
                "offset 8 (header)",
                $"header is not valid JSON: {e.Message}",
                e
            );
        }
        using (doc)
        {
            try
            {
                return ParseHeader(doc, bytes, file, dataStart, dataLength);
            }
            catch (InvalidOperationException e)
            {
                throw new DataFormatException(
                    file,
                    "offset 8 (header)",
                    $"header text is not valid UTF-8: {e.Message}",
                    e
                );
            }
        }
    }

    private static (List<NamedArray> Tensors, Dictionary<string, string> Metadata) ParseHeader(
        JsonDocument doc,
        ReadOnlySpan<byte> bytes,
        string file,
        int dataStart,
        int dataLength
    )
    {
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw new DataFormatException(
                    file,
                    "offset 8 (header)",
                    $"header must be a JSON object, got {doc.RootElement.ValueKind}"
                );
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            var entries = new List<(string Name, int[] Shape, long Begin, long End)>();
            foreach (var prop in doc.RootElement.EnumerateObject())
            {
                if (prop.Name == "__metadata__")
                {
                    if (prop.Value.ValueKind != JsonValueKind.Object)
                        throw new DataFormatException(
                            file,
                            "entry '__metadata__'",
                            "must be an object of strings"
                        );
                    foreach (var m in prop.Value.EnumerateObject())
                    {
                        if (m.Value.ValueKind != JsonValueKind.String)
                            throw new DataFormatException(
                                file,
                                $"entry '__metadata__.{m.Name}'",
                                $"must be a string, got {m.Value.ValueKind}"
                            );
                        metadata[m.Name] = m.Value.GetString()!;
                    }
                    continue;
                }
                entries.Add(ParseEntry(prop, file, dataLength));
            }
            entries.Sort((a, b) => a.Begin.CompareTo(b.Begin));
            long expected = 0;
            foreach (var e in entries)
            {
                if (e.Begin != expected)
                    throw new DataFormatException(
                        file,
                        $"entry '{e.Name}'",
                        $"data_offsets begin at {e.Begin}, expected {expected} (tensors must be contiguous without gaps or overlap)"
                    );
                expected = e.End;
            }
            if (expected != dataLength)
                throw new DataFormatException(
                    file,
                    $"offset {dataStart + expected}",
                    $"data section is {dataLength} bytes but the tensors cover {expected} (truncated or trailing bytes)"
                );
            var tensors = new List<NamedArray>(entries.Count);
            foreach (var e in entries)
            {
                var data = new float[(e.End - e.Begin) / 4];
                var src = bytes.Slice(dataStart + (int)e.Begin, (int)(e.End - e.Begin));
                for (int i = 0; i < data.Length; i++)
                    data[i] = BinaryPrimitives.ReadSingleLittleEndian(src[(i * 4)..]);
                tensors.Add(new NamedArray(e.Name, e.Shape, data));
            }
            return (tensors, metadata);
        }
    }

    private static (string Name, int[] Shape, long Begin, long End) ParseEntry(
        JsonProperty prop,
        string file,
        long dataLength
    )
    {
        var where = $"entry '{prop.Name}'";
        var v = prop.Value;
        if (v.ValueKind != JsonValueKind.Object)
            throw new DataFormatException(
                file,
                where,
                $"must be an object with dtype, shape and data_offsets, got {v.ValueKind}"
            );
        if (!v.TryGetProperty("dtype", out var dtype) || dtype.ValueKind != JsonValueKind.String)
            throw new DataFormatException(file, where, "missing string 'dtype'");
        if (dtype.GetString() != "F32")
            throw new DataFormatException(
                file,
                where,
                $"dtype '{dtype.GetString()}' is not supported; expected F32"
            );
        if (!v.TryGetProperty("shape", out var shapeEl) || shapeEl.ValueKind != JsonValueKind.Array)
            throw new DataFormatException(file, where, "missing array 'shape'");
        var shape = new int[shapeEl.GetArrayLength()];
        long numel = 1;
        int k = 0;
        foreach (var d in shapeEl.EnumerateArray())
        {
            if (d.ValueKind != JsonValueKind.Number || !d.TryGetInt32(out var dim) || dim < 0)
                throw new DataFormatException(
                    file,
                    where,
                    $"shape[{k}] must be a non-negative integer, got {d.GetRawText()}"
                );
            shape[k++] = dim;
            numel *= dim;
            if (numel > int.MaxValue)
                throw new DataFormatException(
                    file,
                    where,
                    $"shape [{string.Join(", ", shape)}] has more than {int.MaxValue} elements"
                );
        }
        if (
            !v.TryGetProperty("data_offsets", out var off)
            || off.ValueKind != JsonValueKind.Array
            || off.GetArrayLength() != 2
        )
            throw new DataFormatException(file, where, "missing 'data_offsets' [begin, end]");
        if (
            !off[0].TryGetInt64(out var begin)
            || !off[1].TryGetInt64(out var end)
            || begin < 0
            || end < begin
        )
            throw new DataFormatException(
                file,
                where,
                $"data_offsets {off.GetRawText()} must be integers with 0 ≤ begin ≤ end"
            );
        if (end > dataLength)
            throw new DataFormatException(
                file,
                where,
                $"data_offsets end {end} is past the {dataLength}-byte data section (truncated?)"
            );
        if (end - begin != numel * 4)
            throw new DataFormatException(
                file,
                where,
                $"data_offsets span {end - begin} bytes but F32 shape [{string.Join(", ", shape)}] needs {numel * 4}"
            );
        return (prop.Name, shape, begin, end);
    }
}
