using System.CommandLine;
using System.Globalization;
using SpikeEngine.Data;

namespace SpikeEngine.Cli;

/// <summary>The datasets of <c>--dataset</c> with their standard train/test pipelines.</summary>
public static class Datasets
{
    public static readonly string[] Names =
    [
        "mnist",
        "fashion-mnist",
        "cifar10",
        "cifar100",
        "imagefolder",
        "nmnist",
        "dvs-gesture",
        "cifar10-dvs",
    ];

    /// <summary>The event-camera datasets: read as frames [T, 2, H, W] (docs/data.md).</summary>
    public static bool IsEvent(string name) => name is "nmnist" or "dvs-gesture" or "cifar10-dvs";

    /// <summary>Loads the train and test splits of <paramref name="name"/> from <paramref name="dir"/>.</summary>
    public static (IDataset Train, IDataset Test) Load(
        string name,
        string dir,
        int imageSize = 224,
        int frames = 0,
        FrameSplit split = FrameSplit.Number,
        EventTransform? transform = null
    )
    {
        if (!Directory.Exists(dir))
            throw new DirectoryNotFoundException(
                name is "mnist"
                    ? $"--data: folder '{Path.GetFullPath(dir)}' does not exist; fetch MNIST into data/mnist with: {Mnist.FetchCommand}"
                    : $"--data: folder '{Path.GetFullPath(dir)}' does not exist"
            );
        switch (name)
        {
            case "mnist":
            case "fashion-mnist":
                // Fashion-MNIST ships the same four IDX file names as MNIST.
                return (
                    Mnist.Load(dir, train: true).WithTransforms(Normalize.Mnist),
                    Mnist.Load(dir, train: false).WithTransforms(Normalize.Mnist)
                );
            case "cifar10":
                return (
                    Cifar
                        .LoadCifar10(dir, train: true)
                        .WithTransforms(
                            new RandomCrop(32, padding: 4),
                            new RandomHorizontalFlip(),
                            Normalize.Cifar10
                        ),
                    Cifar.LoadCifar10(dir, train: false).WithTransforms(Normalize.Cifar10)
                );
            case "cifar100":
                return (
                    Cifar
                        .LoadCifar100(dir, train: true)
                        .WithTransforms(
                            new RandomCrop(32, padding: 4),
                            new RandomHorizontalFlip(),
                            Normalize.Cifar100
                        ),
                    Cifar.LoadCifar100(dir, train: false).WithTransforms(Normalize.Cifar100)
                );
            case "imagefolder":
            {
                var train = Path.Combine(dir, "train");
                var test = new[] { "val", "test" }
                    .Select(s => Path.Combine(dir, s))
                    .FirstOrDefault(Directory.Exists);
                if (!Directory.Exists(train) || test is null)
                    throw new DirectoryNotFoundException(
                        $"--data: an image folder needs '{dir}/train' and '{dir}/val' (or '{dir}/test'), one subfolder per class"
                    );
                return (
                    new ImageFolderDataset(train, new RandomResizedCrop(imageSize)).WithTransforms(
                        new RandomHorizontalFlip(),
                        Normalize.ImageNet
                    ),
                    new ImageFolderDataset(
                        test,
                        new ResizeCenterCrop(imageSize * 8 / 7, imageSize)
                    ).WithTransforms(Normalize.ImageNet)
                );
            }
            case "nmnist":
            case "dvs-gesture":
            case "cifar10-dvs":
            {
                if (frames < 1)
                    throw new UsageException($"--dataset {name}: event data needs --frames T");
                // Integrated frames are cached beside the data, keyed by file and settings.
                var cache = new FrameCache(Path.Combine(dir, ".frames-cache"));
                // The test split gets the deterministic transforms only (no jitter).
                Func<bool, EventFrameDataset> load = train =>
                {
                    var tr =
                        train ? transform
                        : transform is null ? null
                        : transform with { Jitter = 0 };
                    return name switch
                    {
                        "nmnist" => EventDatasets.NMnist(dir, train, frames, split, cache, tr),
                        "dvs-gesture" => EventDatasets.DvsGesture(
                            dir,
                            train,
                            frames,
                            split,
                            cache,
                            tr
                        ),
                        _ => EventDatasets.Cifar10Dvs(dir, train, frames, split, cache, tr),
                    };
                };
                return (load(true), load(false));
            }
            default:
                throw new UsageException(
                    $"--dataset: unknown dataset '{name}'; expected one of {string.Join(", ", Names)}"
                );
        }
    }

    /// <summary>The test split only (for <c>spike eval</c>).</summary>
    public static IDataset LoadTest(
        string name,
        string dir,
        int imageSize = 224,
        int frames = 0,
        FrameSplit split = FrameSplit.Number,
        EventTransform? transform = null
    ) => Load(name, dir, imageSize, frames, split, transform).Test;
}

/// <summary>The frame settings of an event dataset in <c>spike train</c>: T, the split and the event transforms.</summary>
public sealed record FrameOptions(int Frames, FrameSplit Split, EventTransform? Transform = null)
{
    /// <summary>Null for image datasets; for event datasets T from --frames (it sets the time steps).</summary>
    public static FrameOptions? From(
        string dataset,
        int? frames,
        string split,
        EventTransform? transform = null
    )
    {
        if (!Datasets.IsEvent(dataset))
        {
            if (frames is not null)
                throw new UsageException(
                    $"--frames applies to the event datasets (nmnist, dvs-gesture, cifar10-dvs), not '{dataset}'"
                );
            if (transform is { IsIdentity: false })
                throw new UsageException(
                    $"--denoise, --crop, --downsample and --jitter apply to the event datasets (nmnist, dvs-gesture, cifar10-dvs), not '{dataset}'"
                );
            return null;
        }
        if (frames is not { } f)
            throw new UsageException($"--dataset {dataset}: event data needs --frames T");
        return new FrameOptions(
            f,
            split == "time" ? FrameSplit.Time : FrameSplit.Number,
            transform is { IsIdentity: false } ? transform : null
        );
    }

    /// <summary>The run-info entries that record the deterministic transforms (what <c>spike eval</c> applies).</summary>
    public Dictionary<string, string> RunInfo()
    {
        var run = new Dictionary<string, string>();
        if (Transform is not { } t)
            return run;
        if (t.Denoise > 0)
            run["denoise"] = t.Denoise.ToString(CultureInfo.InvariantCulture);
        if (t.Crop is { } c)
            run["crop"] = c.ToString();
        if (t.Downsample > 1)
            run["downsample"] = t.Downsample.ToString(CultureInfo.InvariantCulture);
        if (t.Jitter > 0)
            run["jitter"] = t.Jitter.ToString("R", CultureInfo.InvariantCulture);
        return run;
    }

    /// <summary>The deterministic transforms recorded by <see cref="RunInfo"/> (no jitter: evaluation does not augment).</summary>
    public static EventTransform? FromRunInfo(IReadOnlyDictionary<string, string> run)
    {
        var t = new EventTransform(
            Denoise: run.TryGetValue("denoise", out var d)
                ? long.Parse(d, CultureInfo.InvariantCulture)
                : 0,
            Crop: run.TryGetValue("crop", out var c) ? CropWindow.Parse(c) : null,
            Downsample: run.TryGetValue("downsample", out var f)
                ? int.Parse(f, CultureInfo.InvariantCulture)
                : 1
        );
        return t.IsIdentity ? null : t;
    }
}

/// <summary>
/// <c>--denoise US</c>, <c>--crop LEFT,TOP,WIDTH,HEIGHT</c>, <c>--downsample F</c> and (for
/// training) <c>--jitter US</c>: the event transforms applied before frame integration
/// (<see cref="EventTransform"/>, docs/data.md).
/// </summary>
public sealed class EventTransformOptions
{
    private readonly Option<long> _denoise = new Option<long>("--denoise")
    {
        Description =
            "Event data: drop events with no event at a neighbouring pixel within this many µs before them (0 = off).",
        DefaultValueFactory = _ => 0,
    }.Check(v => v >= 0, "must be ≥ 0 µs");

    private readonly Option<string?> _crop = new("--crop")
    {
        Description = "Event data: keep the events in the window LEFT,TOP,WIDTH,HEIGHT (pixels).",
    };

    private readonly Option<int> _downsample = new Option<int>("--downsample")
    {
        Description = "Event data: divide event coordinates by this factor (1 = off).",
        DefaultValueFactory = _ => 1,
    }.Check(v => v >= 1, "must be at least 1");

    private readonly Option<double>? _jitter;

    /// <summary>The options; <paramref name="jitter"/> adds <c>--jitter</c> (a training augmentation).</summary>
    public EventTransformOptions(bool jitter)
    {
        if (jitter)
            _jitter = new Option<double>("--jitter")
            {
                Description =
                    "Event data, training split: add Gaussian noise of this std (µs) to every timestamp (0 = off).",
                DefaultValueFactory = _ => 0,
            }.Check(v => v >= 0 && double.IsFinite(v), "must be ≥ 0 µs");
    }

    /// <summary>Adds the options to <paramref name="cmd"/>.</summary>
    public void AddTo(Command cmd)
    {
        ArgumentNullException.ThrowIfNull(cmd);
        cmd.Options.Add(_denoise);
        cmd.Options.Add(_crop);
        cmd.Options.Add(_downsample);
        if (_jitter is not null)
            cmd.Options.Add(_jitter);
    }

    /// <summary>The transform the parsed options name (checked against the sensor where it is applied).</summary>
    public EventTransform Read(ParseResult r)
    {
        ArgumentNullException.ThrowIfNull(r);
        CropWindow? window = null;
        if (r.GetValue(_crop) is { } crop)
        {
            try
            {
                window = CropWindow.Parse(crop);
            }
            catch (FormatException e)
            {
                throw new UsageException($"--crop: {e.Message}");
            }
        }
        return new EventTransform(
            r.GetValue(_denoise),
            window,
            r.GetValue(_downsample),
            _jitter is null ? 0 : r.GetValue(_jitter)
        );
    }
}
