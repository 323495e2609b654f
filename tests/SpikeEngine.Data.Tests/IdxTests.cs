namespace SpikeEngine.Data.Tests;

public class IdxTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ReadsImagesAndLabelsRawAndGzip(bool gzip)
    {
        using var dir = new TempDir();
        var (images, labels) = TestFiles.IdxPair(5, 4, 3);
        string ip = dir.File(gzip ? "img.gz" : "img");
        string lp = dir.File(gzip ? "lab.gz" : "lab");
        File.WriteAllBytes(ip, gzip ? TestFiles.Gzip(images) : images);
        File.WriteAllBytes(lp, gzip ? TestFiles.Gzip(labels) : labels);

        ByteImageDataset ds = IdxDataset.Load(ip, lp);

        Assert.Equal(5, ds.Count);
        Assert.Equal(new SampleShape(1, 4, 3), ds.Shape);
        Assert.Equal(10, ds.NumClasses);
        var sample = new float[12];
        int label = ds.ReadSample(3, sample);
        Assert.Equal(3, label);
        for (int y = 0; y < 4; y++)
        for (int x = 0; x < 3; x++)
            Assert.Equal(((3 * 31 + y * 7 + x) % 256) / 255f, sample[y * 3 + x], 1e-6);
    }

    [Fact]
    public void GzipIsDetectedByMagicNotByName()
    {
        using var dir = new TempDir();
        var (images, _) = TestFiles.IdxPair(2, 2, 2);
        string p = dir.File("plain-name-but-gzip");
        File.WriteAllBytes(p, TestFiles.Gzip(images));
        Assert.Equal([2, 2, 2], IdxFile.Read(p).Dimensions);
    }

    [Fact]
    public void BadMagicNamesFileOffsetAndExpectation()
    {
        using var dir = new TempDir();
        var (images, _) = TestFiles.IdxPair(2, 2, 2);
        images[0] = 0x12;
        string p = dir.File("bad-magic");
        File.WriteAllBytes(p, images);
        var e = Assert.Throws<DataFormatException>(() => IdxFile.Read(p));
        Assert.Equal(p, e.File);
        Assert.Equal("offset 0", e.Location);
        Assert.Contains("magic", e.Message);
        Assert.Contains("expected 00 00 08", e.Message);
        Assert.Contains(p, e.Message);
    }

    [Fact]
    public void UnsupportedElementTypeIsRejected()
    {
        var (images, _) = TestFiles.IdxPair(2, 2, 2);
        images[2] = 0x0D; // float
        var e = Assert.Throws<DataFormatException>(() => IdxFile.Parse(images, "f"));
        Assert.Equal("offset 2", e.Location);
        Assert.Contains("0x0D", e.Message);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void TruncatedDataIsRejectedWithLengths(bool gzip)
    {
        var (images, _) = TestFiles.IdxPair(3, 4, 4);
        byte[] cut = images[..(images.Length - 5)];
        var e = Assert.Throws<DataFormatException>(() =>
            IdxFile.Parse(gzip ? TestFiles.Gzip(cut) : cut, "cut")
        );
        Assert.Equal("cut", e.File);
        Assert.Contains("(3, 4, 4)", e.Message);
        Assert.Contains(gzip ? "truncated" : $"file is {cut.Length} bytes", e.Message);
    }

    [Fact]
    public void TrailingBytesAreRejected()
    {
        var (images, _) = TestFiles.IdxPair(2, 2, 2);
        byte[] longer = [.. images, 7];
        Assert.Contains(
            "need",
            Assert.Throws<DataFormatException>(() => IdxFile.Parse(longer, "x")).Message
        );
        var e = Assert.Throws<DataFormatException>(() =>
            IdxFile.Parse(TestFiles.Gzip(longer), "x.gz")
        );
        Assert.Contains("continues past", e.Message);
    }

    [Fact]
    public void TruncatedHeaderIsRejected()
    {
        var e = Assert.Throws<DataFormatException>(() =>
            IdxFile.Parse([0, 0, 8, 3, 0, 0, 0, 2, 0], "h")
        );
        Assert.Contains("inside the header", e.Message);
        e = Assert.Throws<DataFormatException>(() => IdxFile.Parse([0, 0], "h2"));
        Assert.Contains("ends after 2 bytes", e.Message);
    }

    [Fact]
    public void HugeDimensionsAreRejectedWithoutAllocating()
    {
        byte[] header = TestFiles.Idx([int.MaxValue, int.MaxValue, 2], []);
        var e = Assert.Throws<DataFormatException>(() => IdxFile.Parse(header, "huge"));
        Assert.Contains("more than", e.Message);
        // Within the element limit but far beyond what the gzip stream holds.
        e = Assert.Throws<DataFormatException>(() =>
            IdxFile.Parse(TestFiles.Gzip(TestFiles.Idx([1 << 30], [1, 2, 3])), "big.gz")
        );
        Assert.Contains("truncated", e.Message);
    }

    [Fact]
    public void CorruptGzipIsRejected()
    {
        var (images, _) = TestFiles.IdxPair(20, 8, 8);
        byte[] gz = TestFiles.Gzip(images);
        for (int i = 12; i < gz.Length - 8; i++)
            gz[i] ^= 0x5A;
        var e = Assert.Throws<DataFormatException>(() => IdxFile.Parse(gz, "corrupt.gz"));
        Assert.Equal("corrupt.gz", e.File);
    }

    [Fact]
    public void LabelCountMismatchNamesBothFiles()
    {
        using var dir = new TempDir();
        var (images, _) = TestFiles.IdxPair(5, 2, 2);
        var (_, labels) = TestFiles.IdxPair(4, 2, 2);
        File.WriteAllBytes(dir.File("i"), images);
        File.WriteAllBytes(dir.File("l"), labels);
        var e = Assert.Throws<DataFormatException>(() =>
            IdxDataset.Load(dir.File("i"), dir.File("l"))
        );
        Assert.Equal(dir.File("l"), e.File);
        Assert.Contains("label count 4", e.Message);
        Assert.Contains("5 images", e.Message);
        Assert.Contains(dir.File("i"), e.Message);
    }

    [Fact]
    public void LabelOutOfRangeNamesTheEntry()
    {
        using var dir = new TempDir();
        var (images, labels) = TestFiles.IdxPair(5, 2, 2);
        labels[8 + 2] = 11;
        File.WriteAllBytes(dir.File("i"), images);
        File.WriteAllBytes(dir.File("l"), labels);
        var e = Assert.Throws<DataFormatException>(() =>
            IdxDataset.Load(dir.File("i"), dir.File("l"))
        );
        Assert.Equal("offset 10 (label 2)", e.Location);
        Assert.Contains("label 11", e.Message);
    }

    [Fact]
    public void WrongRankIsRejected()
    {
        using var dir = new TempDir();
        var (images, labels) = TestFiles.IdxPair(5, 2, 2);
        File.WriteAllBytes(dir.File("i"), images);
        File.WriteAllBytes(dir.File("l"), labels);
        var e = Assert.Throws<DataFormatException>(() =>
            IdxDataset.Load(dir.File("l"), dir.File("i"))
        );
        Assert.Contains("expected 3", e.Message);
    }
}
