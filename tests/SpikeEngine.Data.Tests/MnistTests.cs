namespace SpikeEngine.Data.Tests;

public class MnistTests
{
    [Fact]
    public void LocateExplainsHowToFetchMissingFiles()
    {
        using var dir = new TempDir();
        File.WriteAllBytes(dir.File("train-images-idx3-ubyte"), [0]);
        var e = Assert.Throws<FileNotFoundException>(() => Mnist.Locate(dir.Path));
        Assert.Contains("dotnet tool restore && dotnet pwsh build.ps1 data", e.Message);
        Assert.Contains("train-labels-idx1-ubyte", e.Message);
        Assert.DoesNotContain("train-images-idx3-ubyte,", e.Message);
    }

    [Fact]
    public void LocateAcceptsRawAndGzipNamesAndLoads()
    {
        using var dir = new TempDir();
        var (ti, tl) = TestFiles.IdxPair(6, 28, 28);
        var (vi, vl) = TestFiles.IdxPair(4, 28, 28);
        File.WriteAllBytes(dir.File("train-images-idx3-ubyte.gz"), TestFiles.Gzip(ti));
        File.WriteAllBytes(dir.File("train-labels-idx1-ubyte"), tl);
        File.WriteAllBytes(dir.File("t10k-images-idx3-ubyte"), vi);
        File.WriteAllBytes(dir.File("t10k-labels-idx1-ubyte.gz"), TestFiles.Gzip(vl));
        MnistFiles files = Mnist.Locate(dir.Path);
        Assert.EndsWith(".gz", files.TrainImages);
        Assert.Equal(6, Mnist.Load(dir.Path, train: true).Count);
        Assert.Equal(new SampleShape(1, 28, 28), Mnist.Load(dir.Path, train: false).Shape);
    }

    [Fact]
    public void ManifestListsTheFourFilesWithSha256()
    {
        string manifest = Path.Combine(RepoRoot(), "eng", "mnist.sha256");
        string[] lines = File.ReadAllLines(manifest).Where(l => l.Length > 0).ToArray();
        Assert.Equal(Mnist.FileNames.Order(), lines.Select(l => l.Split("  ")[1]).Order());
        Assert.All(lines, l => Assert.Matches("^[0-9a-f]{64}  ", l));
    }

    [Fact]
    public void RealMnistWhenPresent()
    {
        string dir = Path.Combine(RepoRoot(), "data", "mnist");
        Assert.SkipUnless(
            File.Exists(Path.Combine(dir, "t10k-images-idx3-ubyte")),
            "data/mnist not fetched (dotnet pwsh build.ps1 data)"
        );
        ByteImageDataset test = Mnist.Load(dir, train: false);
        Assert.Equal(10000, test.Count);
        Assert.Equal(7, test.Labels[0]); // the first MNIST test digit is a 7
        ByteImageDataset train = Mnist.Load(dir, train: true);
        Assert.Equal(60000, train.Count);

        // One full augmented epoch through the loader: every sample once, labels intact.
        IDataset augmented = train.WithTransforms(new RandomCrop(28, padding: 2), Normalize.Mnist);
        using var loader = new DataLoader(
            augmented,
            new DataLoaderOptions
            {
                BatchSize = 128,
                Seed = 1,
                Workers = 2,
            }
        );
        var seen = new bool[60000];
        var sw = System.Diagnostics.Stopwatch.StartNew();
        foreach (Batch b in loader.Epoch(0))
        {
            for (int i = 0; i < b.Count; i++)
            {
                Assert.False(seen[b.Indices[i]]);
                seen[b.Indices[i]] = true;
                Assert.Equal(train.Labels[b.Indices[i]], b.Labels[i]);
            }
        }
        Assert.All(seen, Assert.True);
        TestContext.Current.SendDiagnosticMessage(
            $"MNIST epoch through the loader: {sw.Elapsed.TotalSeconds:F2} s"
        );
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(30), $"one MNIST epoch took {sw.Elapsed}");
    }

    private static string RepoRoot()
    {
        string? d = AppContext.BaseDirectory;
        while (d is not null && !File.Exists(Path.Combine(d, "build.ps1")))
            d = Path.GetDirectoryName(d);
        return d
            ?? throw new InvalidOperationException(
                "repository root (build.ps1) not found above " + AppContext.BaseDirectory
            );
    }
}
