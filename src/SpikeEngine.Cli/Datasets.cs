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
        FrameSplit split = FrameSplit.Number
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
                Func<bool, EventFrameDataset> load = name switch
                {
                    "nmnist" => train => EventDatasets.NMnist(dir, train, frames, split, cache),
                    "dvs-gesture" => train =>
                        EventDatasets.DvsGesture(dir, train, frames, split, cache),
                    _ => train => EventDatasets.Cifar10Dvs(dir, train, frames, split, cache),
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
        FrameSplit split = FrameSplit.Number
    ) => Load(name, dir, imageSize, frames, split).Test;
}

/// <summary>The frame settings of an event dataset in <c>spike train</c>.</summary>
public sealed record FrameOptions(int Frames, FrameSplit Split)
{
    /// <summary>Null for image datasets; for event datasets T from --frames (it sets the time steps).</summary>
    public static FrameOptions? From(string dataset, int? frames, string split)
    {
        if (!Datasets.IsEvent(dataset))
        {
            if (frames is not null)
                throw new UsageException(
                    $"--frames applies to the event datasets (nmnist, dvs-gesture, cifar10-dvs), not '{dataset}'"
                );
            return null;
        }
        if (frames is not { } f)
            throw new UsageException($"--dataset {dataset}: event data needs --frames T");
        return new FrameOptions(f, split == "time" ? FrameSplit.Time : FrameSplit.Number);
    }
}
