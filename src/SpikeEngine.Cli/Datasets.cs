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
    ];

    /// <summary>Loads the train and test splits of <paramref name="name"/> from <paramref name="dir"/>.</summary>
    public static (IDataset Train, IDataset Test) Load(string name, string dir, int imageSize = 224)
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
            default:
                throw new UsageException(
                    $"--dataset: unknown dataset '{name}'; expected one of {string.Join(", ", Names)}"
                );
        }
    }

    /// <summary>The test split only (for <c>spike eval</c>).</summary>
    public static IDataset LoadTest(string name, string dir, int imageSize = 224) =>
        Load(name, dir, imageSize).Test;
}
