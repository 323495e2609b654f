using System.Buffers.Binary;
using System.Text;

namespace SpikeEngine.Data;

/// <summary>Readers of the file formats event-camera datasets are distributed in.</summary>
public static class EventFormats
{
    /// <summary>
    /// N-MNIST / N-Caltech101 <c>.bin</c>: 5 bytes per event — byte 0 x, byte 1 y, byte 2 bit 7
    /// polarity and bits 6..0 timestamp bits 22..16, bytes 3 and 4 timestamp bits 15..0 (µs,
    /// big-endian). An event with y = 240 is a timestamp-overflow marker: it adds 2^13 µs to the
    /// timestamps of every later event and is not itself an event (the format's reference
    /// reader does exactly this). Sensor 34×34.
    /// </summary>
    public static EventStream ReadNMnist(string path, int width = 34, int height = 34) =>
        ParseNMnist(File.ReadAllBytes(path), path, width, height);

    /// <summary><see cref="ReadNMnist"/> over bytes; <paramref name="name"/> names the input in errors.</summary>
    public static EventStream ParseNMnist(
        ReadOnlySpan<byte> bytes,
        string name,
        int width = 34,
        int height = 34
    )
    {
        if (bytes.Length % 5 != 0)
            throw new DataFormatException(
                name,
                $"offset {bytes.Length - bytes.Length % 5}",
                $"{bytes.Length} bytes is not a whole number of 5-byte events (a truncated file?)"
            );
        int n = bytes.Length / 5;
        var xs = new List<ushort>(n);
        var ys = new List<ushort>(n);
        var ps = new List<byte>(n);
        var ts = new List<long>(n);
        long overflow = 0,
            previous = 0;
        for (int i = 0; i < n; i++)
        {
            var e = bytes.Slice(i * 5, 5);
            if (e[1] == 240)
            {
                overflow += 1 << 13;
                continue;
            }
            long t = ((e[2] & 0x7F) << 16 | e[3] << 8 | e[4]) + overflow;
            if (e[0] >= width || e[1] >= height)
                throw new DataFormatException(
                    name,
                    $"offset {i * 5}",
                    $"event at ({e[0]}, {e[1]}) is outside the {width}×{height} sensor"
                );
            if (t < previous)
                throw new DataFormatException(
                    name,
                    $"offset {i * 5}",
                    $"timestamp {t} µs precedes the previous event's {previous} µs (expected time order)"
                );
            previous = t;
            xs.Add(e[0]);
            ys.Add(e[1]);
            ps.Add((byte)(e[2] >> 7));
            ts.Add(t);
        }
        return new EventStream(width, height, [.. xs], [.. ys], [.. ps], [.. ts]);
    }

    /// <summary>
    /// AEDAT 3.1 (jAER / cAER; DVS128 Gesture): ASCII header lines starting with <c>#</c>, the
    /// first <c>#!AER-DAT3.1</c>, the last <c>#!END-HEADER</c>; then packets, each a 28-byte
    /// little-endian header (int16 eventType, int16 eventSource, int32 eventSize, int32
    /// eventTSOffset, int32 eventTSOverflow, int32 eventCapacity, int32 eventNumber, int32
    /// eventValid) and eventNumber events of eventSize bytes. Polarity events (type 1, 8 bytes):
    /// uint32 data (bit 0 valid, bit 1 polarity, bits 2..16 y, bits 17..31 x) and int32
    /// timestamp; the full time is eventTSOverflow·2^31 + timestamp µs. Other packet types are
    /// skipped; invalid events are dropped. Sensor 128×128 by default.
    /// </summary>
    public static EventStream ReadAedat3(string path, int width = 128, int height = 128) =>
        ParseAedat3(File.ReadAllBytes(path), path, width, height);

    /// <summary><see cref="ReadAedat3"/> over bytes.</summary>
    public static EventStream ParseAedat3(
        ReadOnlySpan<byte> bytes,
        string name,
        int width = 128,
        int height = 128
    )
    {
        int pos = SkipHeader(bytes, name, "#!AER-DAT3.1", "#!END-HEADER");
        var xs = new List<ushort>();
        var ys = new List<ushort>();
        var ps = new List<byte>();
        var ts = new List<long>();
        while (pos < bytes.Length)
        {
            if (bytes.Length - pos < 28)
                throw new DataFormatException(
                    name,
                    $"offset {pos}",
                    $"packet header needs 28 bytes, {bytes.Length - pos} remain (truncated file)"
                );
            var h = bytes.Slice(pos, 28);
            short type = BinaryPrimitives.ReadInt16LittleEndian(h);
            int size = BinaryPrimitives.ReadInt32LittleEndian(h[4..]);
            int tsOverflow = BinaryPrimitives.ReadInt32LittleEndian(h[12..]);
            int number = BinaryPrimitives.ReadInt32LittleEndian(h[20..]);
            if (size <= 0 || number < 0)
                throw new DataFormatException(
                    name,
                    $"offset {pos}",
                    $"packet has eventSize {size} and eventNumber {number}, expected positive size and a non-negative count"
                );
            long length = (long)size * number;
            if (length > bytes.Length - pos - 28)
                throw new DataFormatException(
                    name,
                    $"offset {pos}",
                    $"packet of {number} events of {size} bytes needs {length} bytes, {bytes.Length - pos - 28} remain (truncated file)"
                );
            pos += 28;
            if (type == 1)
            {
                if (size != 8)
                    throw new DataFormatException(
                        name,
                        $"offset {pos - 28}",
                        $"polarity packet has eventSize {size}, expected 8"
                    );
                for (int i = 0; i < number; i++)
                {
                    var e = bytes.Slice(pos + i * 8, 8);
                    uint data = BinaryPrimitives.ReadUInt32LittleEndian(e);
                    long t =
                        ((long)tsOverflow << 31)
                        | (uint)BinaryPrimitives.ReadInt32LittleEndian(e[4..]);
                    if ((data & 1) == 0)
                        continue;
                    int x = (int)(data >> 17) & 0x7FFF,
                        y = (int)(data >> 2) & 0x7FFF;
                    if (x >= width || y >= height)
                        throw new DataFormatException(
                            name,
                            $"offset {pos + i * 8}",
                            $"event at ({x}, {y}) is outside the {width}×{height} sensor"
                        );
                    xs.Add((ushort)x);
                    ys.Add((ushort)y);
                    ps.Add((byte)((data >> 1) & 1));
                    ts.Add(t);
                }
            }
            pos += (int)length;
        }
        return Sorted(width, height, xs, ys, ps, ts);
    }

    /// <summary>
    /// AEDAT 2.0 (jAER; CIFAR10-DVS as distributed): ASCII header lines starting with <c>#</c>
    /// (the first <c>#!AER-DAT2.0</c>), then 8-byte big-endian events: uint32 address and
    /// int32 timestamp (µs). DVS128 addresses: polarity bit 0, x bits 1..7, y bits 8..14; the
    /// sensor's x axis runs right to left, so x is mirrored (127 − x) as the dataset's own
    /// loaders do. Sensor 128×128.
    /// </summary>
    public static EventStream ReadAedat2(string path) => ParseAedat2(File.ReadAllBytes(path), path);

    /// <summary><see cref="ReadAedat2"/> over bytes.</summary>
    public static EventStream ParseAedat2(ReadOnlySpan<byte> bytes, string name)
    {
        int pos = SkipHeader(bytes, name, "#!AER-DAT2.0", null);
        int n = (bytes.Length - pos) / 8;
        if ((bytes.Length - pos) % 8 != 0)
            throw new DataFormatException(
                name,
                $"offset {pos + n * 8}",
                $"{bytes.Length - pos} bytes of events is not a whole number of 8-byte events (truncated file)"
            );
        var xs = new List<ushort>(n);
        var ys = new List<ushort>(n);
        var ps = new List<byte>(n);
        var ts = new List<long>(n);
        for (int i = 0; i < n; i++)
        {
            var e = bytes.Slice(pos + i * 8, 8);
            uint a = BinaryPrimitives.ReadUInt32BigEndian(e);
            long t = BinaryPrimitives.ReadInt32BigEndian(e[4..]);
            xs.Add((ushort)(127 - ((a >> 1) & 0x7F)));
            ys.Add((ushort)((a >> 8) & 0x7F));
            ps.Add((byte)(a & 1));
            ts.Add(t);
        }
        return Sorted(128, 128, xs, ys, ps, ts);
    }

    private static EventStream Sorted(
        int width,
        int height,
        List<ushort> xs,
        List<ushort> ys,
        List<byte> ps,
        List<long> ts
    )
    {
        var order = Enumerable.Range(0, ts.Count).OrderBy(i => ts[i]).ToArray(); // stable
        return new EventStream(
            width,
            height,
            [.. order.Select(i => xs[i])],
            [.. order.Select(i => ys[i])],
            [.. order.Select(i => ps[i])],
            [.. order.Select(i => ts[i])]
        );
    }

    private static int SkipHeader(ReadOnlySpan<byte> bytes, string name, string first, string? last)
    {
        int pos = 0,
            line = 0;
        while (pos < bytes.Length && bytes[pos] == (byte)'#')
        {
            int end = bytes[pos..].IndexOf((byte)'\n');
            if (end < 0)
                throw new DataFormatException(
                    name,
                    $"offset {pos}",
                    "header line has no end (truncated header)"
                );
            var text = Encoding.ASCII.GetString(bytes.Slice(pos, end)).TrimEnd('\r');
            if (line == 0 && !text.StartsWith(first, StringComparison.Ordinal))
                throw new DataFormatException(
                    name,
                    "offset 0",
                    $"first header line is '{Truncate(text)}', expected '{first}'"
                );
            pos += end + 1;
            line++;
            if (last is not null && text.StartsWith(last, StringComparison.Ordinal))
                return pos;
        }
        if (line == 0)
            throw new DataFormatException(
                name,
                "offset 0",
                $"no header; expected a first line '{first}'"
            );
        if (last is not null)
            throw new DataFormatException(name, $"offset {pos}", $"header ends without '{last}'");
        return pos;
    }

    private static string Truncate(string s) => s.Length > 40 ? s[..40] + "..." : s;
}
