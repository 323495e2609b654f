using System.Globalization;

namespace SpikeEngine.Data;

/// <summary>One labelled sample of an event dataset: a recording and optionally a time segment of it.</summary>
public sealed record EventSample(string File, int Label, long? Start = null, long? End = null);

/// <summary>
/// An event dataset as frames: each sample is a recording (or a [Start, End) µs segment of one)
/// integrated into T frames (<see cref="FrameIntegration.FixedFrames"/>), read as
/// (T·2, H, W) floats — frame-major, i.e. <c>[T, 2, H, W]</c>; <see cref="FrameEncoder"/> turns a
/// batch into the time-major network input <c>[T, N, 2, H, W]</c>. Frames are cached on disk
/// when a <see cref="FrameCache"/> is given.
/// </summary>
public sealed class EventFrameDataset : IDataset
{
    private readonly IReadOnlyList<EventSample> _samples;
    private readonly Func<string, EventStream> _read;
    private readonly FrameCache? _cache;

    public EventFrameDataset(
        IReadOnlyList<EventSample> samples,
        Func<string, EventStream> read,
        int width,
        int height,
        int numClasses,
        int frames,
        FrameSplit split,
        FrameCache? cache = null,
        EventTransform? transform = null
    )
    {
        ArgumentNullException.ThrowIfNull(samples);
        ArgumentNullException.ThrowIfNull(read);
        ArgumentOutOfRangeException.ThrowIfLessThan(frames, 1);
        _samples = samples;
        _read = read;
        _cache = cache;
        Frames = frames;
        Split = split;
        NumClasses = numClasses;
        SensorWidth = width;
        SensorHeight = height;
        Transform = transform is { IsIdentity: false } ? transform : null;
        var (w, h) = Transform?.Output(width, height) ?? (width, height);
        Shape = new SampleShape(2 * frames, h, w);
    }

    /// <summary>The sensor size of the recordings (before <see cref="Transform"/>).</summary>
    public int SensorWidth { get; }

    /// <summary>The sensor height of the recordings (before <see cref="Transform"/>).</summary>
    public int SensorHeight { get; }

    /// <summary>The event transforms applied before integration; null for none.</summary>
    public EventTransform? Transform { get; }

    public int Frames { get; }
    public FrameSplit Split { get; }
    public int Count => _samples.Count;
    public SampleShape Shape { get; }
    public int NumClasses { get; }
    public IReadOnlyList<EventSample> Samples => _samples;

    public int ReadSample(int index, Span<float> destination, ref SampleRandom random)
    {
        var s = _samples[index];
        var key = string.Create(
            CultureInfo.InvariantCulture,
            $"{s.Start}-{s.End}|T={Frames}|{Split}"
        );
        if (Transform is { } tr)
            key += "|" + tr.CacheKey;
        int[] shape = [Frames, 2, Shape.Height, Shape.Width];
        float[] frames;
        if (_cache is null || Transform is { Jitter: > 0 })
            frames = Integrate(s, ref random);
        else
        {
            var unused = random; // deterministic transforms draw nothing
            frames = _cache.GetOrAdd(s.File, key, shape, () => Integrate(s, ref unused));
        }
        frames.CopyTo(destination);
        return s.Label;
    }

    private float[] Integrate(EventSample s, ref SampleRandom random)
    {
        var events = _read(s.File);
        if (s.Start is { } a && s.End is { } b)
            events = events.Window(a, b);
        if (events.Width != SensorWidth || events.Height != SensorHeight)
            throw new DataFormatException(
                s.File,
                "header",
                $"sensor {events.Width}×{events.Height}, the dataset expects {SensorWidth}×{SensorHeight}"
            );
        if (Transform is { } tr)
            events = tr.Apply(events, ref random);
        return FrameIntegration.FixedFrames(events, Frames, Split);
    }
}

/// <summary>The distributed layouts of N-MNIST, DVS128 Gesture and CIFAR10-DVS.</summary>
public static class EventDatasets
{
    /// <summary>N-MNIST: <c>Train/&lt;digit&gt;/*.bin</c> and <c>Test/&lt;digit&gt;/*.bin</c>, 34×34, 10 classes.</summary>
    public static EventFrameDataset NMnist(
        string root,
        bool train,
        int frames,
        FrameSplit split,
        FrameCache? cache = null,
        EventTransform? transform = null
    )
    {
        var dir = Path.Combine(root, train ? "Train" : "Test");
        if (!Directory.Exists(dir))
            throw new DirectoryNotFoundException(
                $"N-MNIST: folder '{dir}' does not exist (expected Train/<digit>/*.bin and Test/<digit>/*.bin)"
            );
        var samples = new List<EventSample>();
        for (int d = 0; d < 10; d++)
        {
            var sub = Path.Combine(dir, d.ToString(CultureInfo.InvariantCulture));
            if (!Directory.Exists(sub))
                throw new DirectoryNotFoundException($"N-MNIST: folder '{sub}' does not exist");
            samples.AddRange(
                Directory
                    .GetFiles(sub, "*.bin")
                    .Order(StringComparer.Ordinal)
                    .Select(f => new EventSample(f, d))
            );
        }
        return new EventFrameDataset(
            samples,
            f => EventFormats.ReadNMnist(f),
            34,
            34,
            10,
            frames,
            split,
            cache,
            transform
        );
    }

    /// <summary>
    /// DVS128 Gesture: <c>trials_to_train.txt</c> / <c>trials_to_test.txt</c> list the AEDAT 3.1
    /// recordings; each <c>NAME.aedat</c> has <c>NAME_labels.csv</c> with rows
    /// <c>class,startTime_usec,endTime_usec</c> (after a header), classes 1..11; every row is one
    /// sample (label class − 1), the events in [start, end). 128×128, 11 classes.
    /// </summary>
    public static EventFrameDataset DvsGesture(
        string root,
        bool train,
        int frames,
        FrameSplit split,
        FrameCache? cache = null,
        EventTransform? transform = null
    )
    {
        var list = Path.Combine(root, train ? "trials_to_train.txt" : "trials_to_test.txt");
        if (!File.Exists(list))
            throw new FileNotFoundException(
                $"DVS128 Gesture: '{list}' does not exist (the dataset's trial list)",
                list
            );
        var samples = new List<EventSample>();
        foreach (var raw in File.ReadLines(list))
        {
            var name = raw.Trim();
            if (name.Length == 0)
                continue;
            var aedat = Path.Combine(root, name);
            var csv = Path.Combine(root, Path.GetFileNameWithoutExtension(name) + "_labels.csv");
            if (!File.Exists(csv))
                throw new FileNotFoundException(
                    $"DVS128 Gesture: label file '{csv}' of '{name}' does not exist",
                    csv
                );
            int line = 0;
            foreach (var row in File.ReadLines(csv))
            {
                line++;
                var cells = row.Split(',');
                if (line == 1 && !int.TryParse(cells[0], out _))
                    continue;
                if (
                    cells.Length < 3
                    || !int.TryParse(cells[0], CultureInfo.InvariantCulture, out var cls)
                    || !long.TryParse(cells[1], CultureInfo.InvariantCulture, out var start)
                    || !long.TryParse(cells[2], CultureInfo.InvariantCulture, out var end)
                    || cls < 1
                    || cls > 11
                    || end <= start
                )
                    throw new DataFormatException(
                        csv,
                        $"line {line}",
                        $"expected 'class,startTime_usec,endTime_usec' with class 1..11 and end > start, got '{row}'"
                    );
                samples.Add(new EventSample(aedat, cls - 1, start, end));
            }
        }
        return new EventFrameDataset(
            samples,
            f => EventFormats.ReadAedat3(f),
            128,
            128,
            11,
            frames,
            split,
            cache,
            transform
        );
    }

    /// <summary>The CIFAR10-DVS class folders, in label order.</summary>
    public static readonly string[] Cifar10DvsClasses =
    [
        "airplane",
        "automobile",
        "bird",
        "cat",
        "deer",
        "dog",
        "frog",
        "horse",
        "ship",
        "truck",
    ];

    /// <summary>
    /// CIFAR10-DVS: <c>&lt;class&gt;/*.aedat</c> (AEDAT 2.0), 128×128, 10 classes. The dataset has
    /// no official split: per class, the first 90% of the files by name train, the rest test.
    /// </summary>
    public static EventFrameDataset Cifar10Dvs(
        string root,
        bool train,
        int frames,
        FrameSplit split,
        FrameCache? cache = null,
        EventTransform? transform = null
    )
    {
        var samples = new List<EventSample>();
        for (int c = 0; c < Cifar10DvsClasses.Length; c++)
        {
            var sub = Path.Combine(root, Cifar10DvsClasses[c]);
            if (!Directory.Exists(sub))
                throw new DirectoryNotFoundException(
                    $"CIFAR10-DVS: folder '{sub}' does not exist (expected one folder per class: {string.Join(", ", Cifar10DvsClasses)})"
                );
            var files = Directory.GetFiles(sub, "*.aedat").Order(StringComparer.Ordinal).ToArray();
            int cut = files.Length * 9 / 10;
            samples.AddRange(
                (train ? files[..cut] : files[cut..]).Select(f => new EventSample(f, c))
            );
        }
        return new EventFrameDataset(
            samples,
            f => EventFormats.ReadAedat2(f),
            128,
            128,
            10,
            frames,
            split,
            cache,
            transform
        );
    }
}

/// <summary>
/// Frames → network input: a batch of (T·C, H, W) samples (frame-major) becomes
/// <c>[T, N, C, H, W]</c>; the step shape is (C, H, W) = (channels / T, H, W).
/// </summary>
public sealed class FrameEncoder : ISpikeEncoder
{
    public SampleShape StepShape(SampleShape sample, int timeSteps)
    {
        if (sample.Channels % timeSteps != 0)
            throw new ArgumentException(
                $"frame encoder: samples have {sample.Channels} channels, not a multiple of T = {timeSteps} (frame datasets hold T·2 channels; --T must equal --frames)"
            );
        return new SampleShape(sample.Channels / timeSteps, sample.Height, sample.Width);
    }

    public void Encode(
        ReadOnlySpan<float> images,
        int batchSize,
        int sampleSize,
        int timeSteps,
        Span<float> output,
        long key
    )
    {
        int step = sampleSize / timeSteps;
        if (step * timeSteps != sampleSize)
            throw new ArgumentException(
                $"frame encoder: sample size {sampleSize} is not a multiple of T = {timeSteps}"
            );
        if (images.Length < batchSize * sampleSize || output.Length < batchSize * sampleSize)
            throw new ArgumentException(
                $"frame encoder: {batchSize} samples of {sampleSize} floats do not fit the buffers ({images.Length}, {output.Length})"
            );
        for (int n = 0; n < batchSize; n++)
        for (int t = 0; t < timeSteps; t++)
            images
                .Slice(n * sampleSize + t * step, step)
                .CopyTo(output.Slice((t * batchSize + n) * step, step));
    }
}
