using System.Buffers.Binary;
using System.Diagnostics;
using System.Text;

namespace SpikeEngine.Data.Tests;

/// <summary>Event-camera readers on files written byte by byte in each format, and frame integration against hand-computed frames.</summary>
public class EventTests
{
    internal static byte[] NMnistBytes(params (int X, int Y, int P, int T)[] events)
    {
        var b = new byte[events.Length * 5];
        for (int i = 0; i < events.Length; i++)
        {
            var (x, y, p, t) = events[i];
            b[i * 5] = (byte)x;
            b[i * 5 + 1] = (byte)y;
            b[i * 5 + 2] = (byte)(p << 7 | (t >> 16) & 0x7F);
            b[i * 5 + 3] = (byte)(t >> 8);
            b[i * 5 + 4] = (byte)t;
        }
        return b;
    }

    internal static byte[] Aedat3Bytes(
        int overflow,
        params (int X, int Y, int P, int T, bool Valid)[] events
    )
    {
        var header = Encoding.ASCII.GetBytes(
            "#!AER-DAT3.1\r\n#Format: RAW\r\n#Source 1: DVS128\r\n#!END-HEADER\r\n"
        );
        var packet = new byte[28 + 8 * events.Length];
        BinaryPrimitives.WriteInt16LittleEndian(packet, 1); // polarity
        BinaryPrimitives.WriteInt16LittleEndian(packet.AsSpan(2), 1);
        BinaryPrimitives.WriteInt32LittleEndian(packet.AsSpan(4), 8);
        BinaryPrimitives.WriteInt32LittleEndian(packet.AsSpan(8), 4);
        BinaryPrimitives.WriteInt32LittleEndian(packet.AsSpan(12), overflow);
        BinaryPrimitives.WriteInt32LittleEndian(packet.AsSpan(16), events.Length);
        BinaryPrimitives.WriteInt32LittleEndian(packet.AsSpan(20), events.Length);
        BinaryPrimitives.WriteInt32LittleEndian(packet.AsSpan(24), events.Count(e => e.Valid));
        for (int i = 0; i < events.Length; i++)
        {
            var (x, y, p, t, valid) = events[i];
            uint data = (uint)(x << 17 | y << 2 | p << 1 | (valid ? 1 : 0));
            BinaryPrimitives.WriteUInt32LittleEndian(packet.AsSpan(28 + 8 * i), data);
            BinaryPrimitives.WriteInt32LittleEndian(packet.AsSpan(32 + 8 * i), t);
        }
        // a special-event packet (type 0) that the reader skips
        var special = new byte[28 + 8];
        BinaryPrimitives.WriteInt32LittleEndian(special.AsSpan(4), 8);
        BinaryPrimitives.WriteInt32LittleEndian(special.AsSpan(20), 1);
        return [.. header, .. special, .. packet];
    }

    internal static byte[] Aedat2Bytes(params (int X, int Y, int P, int T)[] events)
    {
        var header = Encoding.ASCII.GetBytes("#!AER-DAT2.0\r\n# This is a raw AE data file\r\n");
        var b = new byte[8 * events.Length];
        for (int i = 0; i < events.Length; i++)
        {
            var (x, y, p, t) = events[i];
            BinaryPrimitives.WriteUInt32BigEndian(
                b.AsSpan(8 * i),
                (uint)(y << 8 | (127 - x) << 1 | p)
            );
            BinaryPrimitives.WriteInt32BigEndian(b.AsSpan(8 * i + 4), t);
        }
        return [.. header, .. b];
    }

    [Fact]
    public void NMnistDecodesFortyBitEventsAndOverflowMarkers()
    {
        var bytes = NMnistBytes((1, 2, 1, 0x7FFFFF), (33, 33, 0, 5), (0, 240, 0, 0), (3, 4, 1, 6));
        // The first event's 23-bit timestamp is the largest; put it last so times stay ordered.
        bytes = [.. bytes[5..10], .. bytes[10..15], .. bytes[15..20], .. bytes[0..5]];
        var e = EventFormats.ParseNMnist(bytes, "a.bin");
        Assert.Equal(3, e.Count); // the y = 240 marker is not an event
        Assert.Equal([33, 3, 1], e.X.Select(v => (int)v));
        Assert.Equal([33, 4, 2], e.Y.Select(v => (int)v));
        Assert.Equal([0, 1, 1], e.P.Select(v => (int)v));
        Assert.Equal([5L, 6 + 8192, 0x7FFFFF + 8192], e.T);
    }

    [Fact]
    public void NMnistRejectsTruncatedAndCorruptFiles()
    {
        var bytes = NMnistBytes((1, 2, 1, 10), (3, 4, 0, 20));
        var ex = Assert.Throws<DataFormatException>(() =>
            EventFormats.ParseNMnist(bytes[..7], "t.bin")
        );
        Assert.Equal("t.bin", ex.File);
        Assert.Equal("offset 5", ex.Location);
        bytes[5] = 40; // x outside 34×34
        ex = Assert.Throws<DataFormatException>(() => EventFormats.ParseNMnist(bytes, "c.bin"));
        Assert.Contains("outside the 34×34 sensor", ex.Message);
        var backwards = NMnistBytes((1, 2, 1, 10), (3, 4, 0, 5));
        ex = Assert.Throws<DataFormatException>(() => EventFormats.ParseNMnist(backwards, "b.bin"));
        Assert.Equal("offset 5", ex.Location);
    }

    [Fact]
    public void Aedat3DecodesPolarityPacketsWithOverflow()
    {
        var bytes = Aedat3Bytes(
            1,
            (127, 0, 1, 10, true),
            (5, 100, 0, 20, false),
            (6, 7, 0, 30, true)
        );
        var e = EventFormats.ParseAedat3(bytes, "g.aedat");
        Assert.Equal(2, e.Count);
        Assert.Equal([127, 6], e.X.Select(v => (int)v));
        Assert.Equal([0, 7], e.Y.Select(v => (int)v));
        Assert.Equal([1, 0], e.P.Select(v => (int)v));
        Assert.Equal([(1L << 31) + 10, (1L << 31) + 30], e.T);

        var ex = Assert.Throws<DataFormatException>(() =>
            EventFormats.ParseAedat3(bytes[..^4], "t.aedat")
        );
        Assert.Contains("truncated", ex.Message);
        var wrong = Encoding.ASCII.GetBytes("#!AER-DAT2.0\r\n#!END-HEADER\r\n");
        ex = Assert.Throws<DataFormatException>(() => EventFormats.ParseAedat3(wrong, "v.aedat"));
        Assert.Equal("offset 0", ex.Location);
        Assert.Contains("#!AER-DAT3.1", ex.Message);
    }

    [Fact]
    public void Aedat2DecodesBigEndianDvs128Addresses()
    {
        var bytes = Aedat2Bytes((0, 5, 1, 100), (127, 127, 0, 50));
        var e = EventFormats.ParseAedat2(bytes, "c.aedat");
        Assert.Equal([127, 0], e.X.Select(v => (int)v)); // sorted by time
        Assert.Equal([127, 5], e.Y.Select(v => (int)v));
        Assert.Equal([0, 1], e.P.Select(v => (int)v));
        Assert.Equal([50L, 100], e.T);
        var ex = Assert.Throws<DataFormatException>(() =>
            EventFormats.ParseAedat2(bytes[..^3], "t.aedat")
        );
        Assert.Contains("truncated", ex.Message);
    }

    private static EventStream Stream(params (int X, int Y, int P, long T)[] e) =>
        new(
            3,
            2,
            [.. e.Select(v => (ushort)v.X)],
            [.. e.Select(v => (ushort)v.Y)],
            [.. e.Select(v => (byte)v.P)],
            [.. e.Select(v => v.T)]
        );

    // Seven events on a 3×2 sensor at t = 0, 1, 2, 10, 11, 30, 40 µs.
    private static readonly EventStream s_seven = Stream(
        (0, 0, 1, 0),
        (1, 0, 1, 1),
        (0, 0, 1, 2),
        (2, 1, 0, 10),
        (2, 1, 0, 11),
        (1, 1, 1, 30),
        (0, 1, 0, 40)
    );

    private static float[] Frame(params (int P, int Y, int X, float V)[] cells)
    {
        var f = new float[2 * 2 * 3];
        foreach (var (p, y, x, v) in cells)
            f[p * 6 + y * 3 + x] = v;
        return f;
    }

    [Fact]
    public void SplitByNumberGivesEachFrameNOverTEventsAndTheLastTheRest()
    {
        // N = 7, T = 3: ⌊7/3⌋ = 2 events per frame: events {0,1}, {2,3}, {4,5,6}.
        var frames = FrameIntegration.FixedFrames(s_seven, 3, FrameSplit.Number);
        float[] expected =
        [
            .. Frame((1, 0, 0, 1), (1, 0, 1, 1)),
            .. Frame((1, 0, 0, 1), (0, 1, 2, 1)),
            .. Frame((0, 1, 2, 1), (1, 1, 1, 1), (0, 1, 0, 1)),
        ];
        Assert.Equal(expected, frames);
    }

    [Fact]
    public void SplitByTimeUsesEqualSpansFromTheFirstEvent()
    {
        // t_first = 0, t_last = 40, T = 3: dt = ⌊40/3⌋ = 13: [0,13) = events 0-4, [13,26) = none,
        // [26, end] = events 5, 6.
        var frames = FrameIntegration.FixedFrames(s_seven, 3, FrameSplit.Time);
        float[] expected =
        [
            .. Frame((1, 0, 0, 2), (1, 0, 1, 1), (0, 1, 2, 2)),
            .. Frame(),
            .. Frame((1, 1, 1, 1), (0, 1, 0, 1)),
        ];
        Assert.Equal(expected, frames);
    }

    [Fact]
    public void FixedDurationFramesCoverTheRecording()
    {
        // D = 15 µs from t = 0: [0,15) events 0-4, [15,30) none, [30,45) events 5, 6: ⌊40/15⌋ + 1 = 3 frames.
        var (t, frames) = FrameIntegration.FixedDuration(s_seven, 15);
        Assert.Equal(3, t);
        Assert.Equal(FrameIntegration.FixedFrames(s_seven, 3, FrameSplit.Time), frames);
        var (t2, f2) = FrameIntegration.FixedDuration(s_seven, 11);
        // [0,11) 0-3, [11,22) 4, [22,33) 5, [33,44) 6
        Assert.Equal(4, t2);
        Assert.Equal(Frame((0, 1, 2, 1)), f2[12..24]);
    }

    [Fact]
    public void TransformsCropDownsampleDenoiseJitter()
    {
        var crop = s_seven.Crop(1, 0, 2, 2);
        Assert.Equal(4, crop.Count);
        Assert.Equal([0, 1, 1, 0], crop.X.Select(v => (int)v));
        var down = s_seven.Downsample(2);
        Assert.Equal((2, 1), (down.Width, down.Height));
        Assert.Equal([0, 0, 0, 1, 1, 0, 0], down.X.Select(v => (int)v));
        // Denoise with a 5 µs window: event 1 (t=1) has event 0 at a neighbour 1 µs before; event 2
        // (t=2) has event 1 as neighbour; event 3 at (2,1) t=10 has none within 5 µs; event 4 at the
        // same pixel does not count (neighbours only); events 5, 6 are isolated.
        var clean = s_seven.Denoise(5);
        Assert.Equal([1L, 2], clean.T);
        var random = new SampleRandom(1);
        var jittered = s_seven.TimeJitter(3, ref random);
        Assert.Equal(7, jittered.Count);
        Assert.True(jittered.T.Zip(jittered.T.Skip(1)).All(p => p.First <= p.Second));
        Assert.Throws<ArgumentException>(() => s_seven.Crop(2, 0, 2, 2));
    }

    [Fact]
    public void EventReadersOnlyThrowDataFormatException()
    {
        byte[][] seeds =
        [
            NMnistBytes((1, 2, 1, 10), (3, 4, 0, 20), (0, 240, 0, 0), (5, 6, 1, 30)),
            Aedat3Bytes(0, (1, 2, 1, 10, true), (3, 4, 0, 20, true)),
            Aedat2Bytes((1, 2, 1, 10), (3, 4, 0, 20)),
        ];
        var random = new Random(404);
        var sw = Stopwatch.StartNew();
        int accepted = 0;
        for (int i = 0; i < 3000; i++)
        {
            int kind = i % 3;
            var bytes = RobustnessTests.Mutate(seeds[kind], random);
            try
            {
                _ = kind switch
                {
                    0 => EventFormats.ParseNMnist(bytes, "fuzz.bin"),
                    1 => EventFormats.ParseAedat3(bytes, "fuzz.aedat"),
                    _ => EventFormats.ParseAedat2(bytes, "fuzz.aedat"),
                };
                accepted++;
            }
            catch (DataFormatException) { }
        }
        Assert.True(accepted > 0, "no mutant parsed");
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(30));
    }
}
