namespace SpikeEngine.Data;

/// <summary>Paths of the four MNIST IDX files (each raw or .gz).</summary>
public sealed record MnistFiles(
    string TrainImages,
    string TrainLabels,
    string TestImages,
    string TestLabels
);

/// <summary>
/// MNIST and Fashion-MNIST (same file names and format). The files are not shipped with the
/// repository; <c>dotnet tool restore &amp;&amp; dotnet pwsh build.ps1 data</c> fetches MNIST into
/// <c>data/mnist/</c> and checks its SHA-256 against <c>eng/mnist.sha256</c>.
/// </summary>
public static class Mnist
{
    /// <summary>The standard file stems; a file may also carry a ".gz" suffix.</summary>
    public static readonly IReadOnlyList<string> FileNames =
    [
        "train-images-idx3-ubyte",
        "train-labels-idx1-ubyte",
        "t10k-images-idx3-ubyte",
        "t10k-labels-idx1-ubyte",
    ];

    /// <summary>The command that fetches MNIST, quoted in the error when files are missing.</summary>
    public const string FetchCommand = "dotnet tool restore && dotnet pwsh build.ps1 data";

    /// <summary>
    /// Finds the four files in <paramref name="directory"/>, each as STEM or STEM.gz. Throws
    /// <see cref="FileNotFoundException"/> listing what is missing and how to fetch it.
    /// </summary>
    public static MnistFiles Locate(string directory)
    {
        ArgumentNullException.ThrowIfNull(directory);
        var found = new string?[FileNames.Count];
        var missing = new List<string>();
        for (int i = 0; i < FileNames.Count; i++)
        {
            string raw = Path.Combine(directory, FileNames[i]);
            string gz = raw + ".gz";
            found[i] =
                File.Exists(raw) ? raw
                : File.Exists(gz) ? gz
                : null;
            if (found[i] is null)
                missing.Add(FileNames[i]);
        }
        if (missing.Count > 0)
        {
            string full = Path.GetFullPath(directory);
            throw new FileNotFoundException(
                $"MNIST files missing in '{full}': {string.Join(", ", missing)} (raw or .gz). "
                    + $"Fetch them into data/mnist with: {FetchCommand}",
                Path.Combine(full, missing[0])
            );
        }
        return new MnistFiles(found[0]!, found[1]!, found[2]!, found[3]!);
    }

    /// <summary>Loads the training (60k) or test (10k) split from <paramref name="directory"/>.</summary>
    public static ByteImageDataset Load(string directory, bool train)
    {
        MnistFiles files = Locate(directory);
        return train
            ? IdxDataset.Load(files.TrainImages, files.TrainLabels, 10)
            : IdxDataset.Load(files.TestImages, files.TestLabels, 10);
    }
}
