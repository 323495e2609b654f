namespace SpikeEngine.Data.Tests;

public class CifarTests
{
    [Theory]
    [InlineData(CifarKind.Cifar10)]
    [InlineData(CifarKind.Cifar100)]
    public void ReadsRecordsAcrossBatches(CifarKind kind)
    {
        using var dir = new TempDir();
        File.WriteAllBytes(dir.File("a.bin"), TestFiles.Cifar(3, kind));
        File.WriteAllBytes(dir.File("b.bin"), TestFiles.Cifar(2, kind));
        ByteImageDataset ds = Cifar.Load([dir.File("a.bin"), dir.File("b.bin")], kind);

        Assert.Equal(5, ds.Count);
        Assert.Equal(new SampleShape(3, 32, 32), ds.Shape);
        Assert.Equal(kind == CifarKind.Cifar10 ? 10 : 100, ds.NumClasses);
        var x = new float[3 * 32 * 32];
        // Sample 4 is record 1 of the second file.
        int label = ds.ReadSample(4, x);
        Assert.Equal(1, label);
        Assert.Equal((1 + 0) / 255f, x[0], 6); // red (0, 0)
        Assert.Equal(((1 + 1024 + 33) % 256) / 255f, x[1024 + 33], 6); // green (1, 1)
        Assert.Equal(((1 + 3071) % 256) / 255f, x[3071], 6); // blue (31, 31)
    }

    [Fact]
    public void Cifar100UsesFineLabel()
    {
        byte[] bytes = TestFiles.Cifar(1, CifarKind.Cifar100);
        bytes[0] = 7; // coarse
        bytes[1] = 42; // fine
        ByteImageDataset ds = Cifar.Parse([(bytes, "c100")], CifarKind.Cifar100);
        Assert.Equal(42, ds.Labels[0]);
    }

    [Fact]
    public void TruncatedFileNamesRecordAndSize()
    {
        byte[] bytes = TestFiles.Cifar(3, CifarKind.Cifar10)[..(3073 * 2 + 100)];
        var e = Assert.Throws<DataFormatException>(() =>
            Cifar.Parse([(bytes, "data_batch_1.bin")], CifarKind.Cifar10)
        );
        Assert.Equal("data_batch_1.bin", e.File);
        Assert.Equal("offset 6146 (record 2)", e.Location);
        Assert.Contains("3073-byte", e.Message);
    }

    [Fact]
    public void LabelOutOfRangeSuggestsTheOtherKind()
    {
        byte[] bytes = TestFiles.Cifar(3, CifarKind.Cifar10);
        bytes[3073] = 55;
        var e = Assert.Throws<DataFormatException>(() =>
            Cifar.Parse([(bytes, "f")], CifarKind.Cifar10)
        );
        Assert.Equal("offset 3073 (record 1)", e.Location);
        Assert.Contains("CIFAR-100", e.Message);
    }

    [Fact]
    public void EmptyFileIsRejected()
    {
        var e = Assert.Throws<DataFormatException>(() =>
            Cifar.Parse([([], "empty.bin")], CifarKind.Cifar100)
        );
        Assert.Contains("empty", e.Message);
    }

    [Fact]
    public void StandardLayoutIsFoundAndMissingFilesAreNamed()
    {
        using var dir = new TempDir();
        string sub = Path.Combine(dir.Path, "cifar-10-batches-bin");
        Directory.CreateDirectory(sub);
        File.WriteAllBytes(
            Path.Combine(sub, "test_batch.bin"),
            TestFiles.Cifar(4, CifarKind.Cifar10)
        );
        Assert.Equal(4, Cifar.LoadCifar10(dir.Path, train: false).Count);
        var e = Assert.Throws<FileNotFoundException>(() =>
            Cifar.LoadCifar10(dir.Path, train: true)
        );
        Assert.Contains("data_batch_1.bin", e.Message);
    }
}
