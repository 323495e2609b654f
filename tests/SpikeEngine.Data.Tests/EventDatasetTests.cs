using System.Text;

namespace SpikeEngine.Data.Tests;

public class EventDatasetTests
{
    private static string TempDir()
    {
        var d = Path.Combine(Path.GetTempPath(), "spike-event-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(d);
        return d;
    }

    internal static void WriteNMnist(string root, int perDigitTrain, int perDigitTest)
    {
        foreach (var (split, count) in new[] { ("Train", perDigitTrain), ("Test", perDigitTest) })
            for (int d = 0; d < 10; d++)
            {
                var dir = Path.Combine(root, split, d.ToString());
                Directory.CreateDirectory(dir);
                for (int i = 0; i < count; i++)
                {
                    // digit d: events on row 3·d, columns 0..9, ON then OFF, 100 µs apart.
                    var events = Enumerable
                        .Range(0, 10)
                        .Select(k => (k, 3 * d, k % 2, 100 * k + i))
                        .ToArray();
                    File.WriteAllBytes(
                        Path.Combine(dir, $"{i:D5}.bin"),
                        EventTests.NMnistBytes(events)
                    );
                }
            }
    }

    [Fact]
    public void NMnistLayoutReadsFramesWithLabels()
    {
        var root = TempDir();
        WriteNMnist(root, 2, 1);
        var train = EventDatasets.NMnist(root, train: true, frames: 2, FrameSplit.Number);
        Assert.Equal(20, train.Count);
        Assert.Equal(new SampleShape(4, 34, 34), train.Shape);
        var x = new float[train.Shape.Size];
        int label = train.ReadSample(6, x);
        Assert.Equal(3, label);
        // 10 events, T = 2: events 0-4 in frame 0, 5-9 in frame 1; even k is OFF (channel 0).
        Assert.Equal(1f, x[0 * 1156 + 9 * 34 + 0]); // frame 0, OFF, y = 9, x = 0
        Assert.Equal(1f, x[1 * 1156 + 9 * 34 + 1]); // frame 0, ON, x = 1
        Assert.Equal(1f, x[3 * 1156 + 9 * 34 + 5]); // frame 1, ON (k = 5 is odd): plane 2·1 + 1
        Assert.Equal(10f, x.Sum());
        Assert.Throws<DirectoryNotFoundException>(() =>
            EventDatasets.NMnist(Path.Combine(root, "missing"), true, 2, FrameSplit.Number)
        );
    }

    [Fact]
    public void FrameCacheHitsAfterTheFirstReadAndRecomputesACorruptFile()
    {
        var root = TempDir();
        WriteNMnist(root, 1, 1);
        var cache = new FrameCache(Path.Combine(root, "cache"));
        var ds = EventDatasets.NMnist(root, train: true, frames: 3, FrameSplit.Time, cache);
        var a = new float[ds.Shape.Size];
        var b = new float[ds.Shape.Size];
        ds.ReadSample(4, a);
        Assert.Equal((0L, 1L), (cache.Hits, cache.Misses));
        ds.ReadSample(4, b);
        Assert.Equal((1L, 1L), (cache.Hits, cache.Misses));
        Assert.Equal(a, b);
        Assert.Equal(
            FrameIntegration.FixedFrames(
                EventFormats.ReadNMnist(ds.Samples[4].File),
                3,
                FrameSplit.Time
            ),
            b
        );

        // Flip one payload byte: the checksum rejects the file, the frames are recomputed and rewritten.
        var file = Directory.GetFiles(Path.Combine(root, "cache")).Single();
        var bytes = File.ReadAllBytes(file);
        bytes[^1] ^= 0x40;
        File.WriteAllBytes(file, bytes);
        var c = new float[ds.Shape.Size];
        ds.ReadSample(4, c);
        Assert.Equal((1L, 2L), (cache.Hits, cache.Misses));
        Assert.Equal(a, c);
        ds.ReadSample(4, c);
        Assert.Equal(2L, cache.Hits);
        // Other settings (T) miss the cache: a new file.
        EventDatasets
            .NMnist(root, true, 2, FrameSplit.Time, cache)
            .ReadSample(4, new float[4 * 34 * 34]);
        Assert.Equal(2, Directory.GetFiles(Path.Combine(root, "cache")).Length);
    }

    [Fact]
    public void DvsGestureSegmentsRecordingsByTheLabelCsv()
    {
        var root = TempDir();
        File.WriteAllBytes(
            Path.Combine(root, "user01_led.aedat"),
            EventTests.Aedat3Bytes(
                0,
                (1, 1, 1, 10, true),
                (2, 2, 0, 20, true),
                (3, 3, 1, 30, true),
                (4, 4, 1, 40, true)
            )
        );
        File.WriteAllText(
            Path.Combine(root, "user01_led_labels.csv"),
            "class,startTime_usec,endTime_usec\n3,10,30\n11,30,41\n"
        );
        File.WriteAllText(Path.Combine(root, "trials_to_train.txt"), "user01_led.aedat\n");
        var ds = EventDatasets.DvsGesture(root, train: true, frames: 1, FrameSplit.Number);
        Assert.Equal(2, ds.Count);
        var x = new float[ds.Shape.Size];
        Assert.Equal(2, ds.ReadSample(0, x));
        Assert.Equal(2f, x.Sum()); // events at 10 and 20 µs
        Assert.Equal(10, ds.ReadSample(1, x));
        Assert.Equal(2f, x.Sum());
        Assert.Equal(1f, x[128 * 128 + 4 * 128 + 4]); // ON at (4, 4)

        File.WriteAllText(
            Path.Combine(root, "user01_led_labels.csv"),
            "class,startTime_usec,endTime_usec\n12,10,30\n"
        );
        var e = Assert.Throws<DataFormatException>(() =>
            EventDatasets.DvsGesture(root, true, 1, FrameSplit.Number)
        );
        Assert.Equal("line 2", e.Location);
    }

    [Fact]
    public void Cifar10DvsSplitsEachClassNinetyTen()
    {
        var root = TempDir();
        foreach (var c in EventDatasets.Cifar10DvsClasses)
        {
            Directory.CreateDirectory(Path.Combine(root, c));
            for (int i = 0; i < 10; i++)
                File.WriteAllBytes(
                    Path.Combine(root, c, $"cifar10_{c}_{i}.aedat"),
                    EventTests.Aedat2Bytes((i, 2, 1, 5), (3, 4, 0, 9))
                );
        }
        var train = EventDatasets.Cifar10Dvs(root, true, 2, FrameSplit.Time);
        var test = EventDatasets.Cifar10Dvs(root, false, 2, FrameSplit.Time);
        Assert.Equal((90, 10), (train.Count, test.Count));
        var x = new float[test.Shape.Size];
        Assert.Equal(5, test.ReadSample(5, x));
        Assert.Equal(1f, x[1 * 128 * 128 + 2 * 128 + 9]); // frame 0, ON, (x = 9, y = 2): the 10th file
    }

    [Fact]
    public void FrameEncoderMakesTimeMajorInput()
    {
        // two samples of T = 2 frames, each frame 3 floats: sample n frame t = 10n + t.
        float[] images = [0, 0, 0, 1, 1, 1, 10, 10, 10, 11, 11, 11];
        var output = new float[12];
        var enc = new FrameEncoder();
        Assert.Equal(new SampleShape(1, 1, 3), enc.StepShape(new SampleShape(2, 1, 3), 2));
        enc.Encode(images, 2, 6, 2, output, 0);
        Assert.Equal([0, 0, 0, 10, 10, 10, 1, 1, 1, 11, 11, 11], output);
        Assert.Throws<ArgumentException>(() => enc.StepShape(new SampleShape(3, 1, 3), 2));
    }
}

public class EventTransformDatasetTests
{
    // One N-MNIST recording (digit 0) whose events survive denoise (10 µs), crop (8, 8, 8, 8) and
    // downsample 2 as worked out by hand below.
    private static (string Root, EventStream Events) Write()
    {
        var root = Path.Combine(
            Path.GetTempPath(),
            "spike-event-tests",
            Guid.NewGuid().ToString("N")
        );
        foreach (var split in new[] { "Train", "Test" })
            for (int d = 0; d < 10; d++)
                Directory.CreateDirectory(Path.Combine(root, split, d.ToString()));
        var file = Path.Combine(root, "Train", "0", "00000.bin");
        File.WriteAllBytes(
            file,
            EventTests.NMnistBytes(
                (10, 10, 1, 0), // no earlier neighbour: denoised away
                (11, 10, 1, 5), // neighbour (10, 10) 5 µs before: kept → crop (3, 2) → (1, 1) ON
                (12, 11, 0, 12), // neighbour (11, 10) 7 µs before: kept → (4, 3) → (2, 1) OFF
                (30, 30, 0, 14), // isolated: denoised
                (13, 12, 1, 30), // neighbour (12, 11) 18 µs before: denoised
                (14, 12, 1, 35), // neighbour (13, 12) 5 µs before: kept → (6, 4) → (3, 2) ON
                (15, 13, 1, 40), // neighbour (14, 12): kept → (7, 5) → (3, 2) ON
                (2, 2, 1, 41), // isolated: denoised
                (3, 3, 1, 42) // neighbour (2, 2): kept by denoise, outside the crop
            )
        );
        return (root, EventFormats.ReadNMnist(file));
    }

    private static readonly EventTransform Transform = new(
        Denoise: 10,
        Crop: new CropWindow(8, 8, 8, 8),
        Downsample: 2
    );

    [Fact]
    public void DenoiseCropAndDownsampleApplyBeforeIntegration()
    {
        var (root, _) = Write();
        var ds = EventDatasets.NMnist(root, true, 2, FrameSplit.Number, transform: Transform);
        Assert.Equal(new SampleShape(4, 4, 4), ds.Shape);
        var x = new float[ds.Shape.Size];
        Assert.Equal(0, ds.ReadSample(0, x));
        // Four survivors, T = 2 by number: frame 0 = the events at 5 and 12 µs, frame 1 the other two.
        var expected = new float[2 * 2 * 16];
        expected[0 * 32 + 1 * 16 + 1 * 4 + 1] = 1; // frame 0, ON, y 1, x 1
        expected[0 * 32 + 0 * 16 + 1 * 4 + 2] = 1; // frame 0, OFF, y 1, x 2
        expected[1 * 32 + 1 * 16 + 2 * 4 + 3] = 2; // frame 1, ON, y 2, x 3
        Assert.Equal(expected, x);

        var e = Assert.Throws<ArgumentException>(() =>
            EventDatasets.NMnist(
                root,
                true,
                2,
                FrameSplit.Number,
                transform: new EventTransform(Crop: new CropWindow(30, 0, 8, 8))
            )
        );
        Assert.Contains(
            "crop window 30,0,8,8 (left, top, width, height) is not inside the 34×34 sensor",
            e.Message
        );
    }

    [Fact]
    public void TheFrameCacheIsKeyedByTheTransformAndJitterIsNeverCached()
    {
        var (root, events) = Write();
        var dir = Path.Combine(root, "cache");
        var cache = new FrameCache(dir);
        var plain = EventDatasets.NMnist(root, true, 2, FrameSplit.Number, cache);
        var cropped = EventDatasets.NMnist(root, true, 2, FrameSplit.Number, cache, Transform);
        var a = new float[plain.Shape.Size];
        var b = new float[cropped.Shape.Size];
        plain.ReadSample(0, a);
        cropped.ReadSample(0, b);
        Assert.Equal((0L, 2L), (cache.Hits, cache.Misses));
        Assert.Equal(2, Directory.GetFiles(dir).Length);
        cropped.ReadSample(0, b);
        Assert.Equal((1L, 2L), (cache.Hits, cache.Misses));
        Assert.Equal(4f, b.Sum());
        // Another denoise window is another cache entry.
        EventDatasets
            .NMnist(root, true, 2, FrameSplit.Number, cache, Transform with { Denoise = 20 })
            .ReadSample(0, new float[b.Length]);
        Assert.Equal(3, Directory.GetFiles(dir).Length);

        // Jitter: drawn from the sample's random stream on every read, never cached.
        var jitter = Transform with
        {
            Jitter = 30,
        };
        var jittered = EventDatasets.NMnist(root, true, 2, FrameSplit.Time, cache, jitter);
        var frames = new List<float[]>();
        for (ulong epoch = 0; epoch < 8; epoch++)
        {
            var y = new float[jittered.Shape.Size];
            var random = new SampleRandom(5, epoch);
            jittered.ReadSample(0, y, ref random);
            var again = new SampleRandom(5, epoch);
            var reference = FrameIntegration.FixedFrames(
                events.Denoise(10).Crop(8, 8, 8, 8).Downsample(2).TimeJitter(30, ref again),
                2,
                FrameSplit.Time
            );
            Assert.Equal(reference, y);
            frames.Add(y);
        }
        Assert.Equal(3, Directory.GetFiles(dir).Length);
        Assert.Equal((1L, 3L), (cache.Hits, cache.Misses));
        Assert.Contains(frames, f => !f.SequenceEqual(frames[0]));
    }
}
