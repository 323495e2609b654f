using SkiaSharp;

namespace SpikeEngine.Data.Tests;

public class ImageFolderTests
{
    private static readonly SKColor Red = new(200, 10, 10);
    private static readonly SKColor Blue = new(10, 20, 220);

    [Fact]
    public void ReadsPngAndJpegWithSortedClasses()
    {
        using var dir = new TempDir();
        Directory.CreateDirectory(dir.File("zebra"));
        Directory.CreateDirectory(dir.File("ant"));
        Directory.CreateDirectory(dir.File("empty"));
        File.WriteAllBytes(dir.File("zebra/b.png"), TestFiles.SolidPng(10, 6, Blue));
        File.WriteAllBytes(dir.File("zebra/a.JPG"), TestFiles.SolidJpeg(16, 16, Blue));
        File.WriteAllBytes(dir.File("ant/x.jpeg"), TestFiles.SolidJpeg(20, 12, Red));
        File.WriteAllText(dir.File("ant/readme.txt"), "not an image");

        var ds = new ImageFolderDataset(dir.Path, new Resize(8, 8));

        Assert.Equal(["ant", "empty", "zebra"], ds.Classes);
        Assert.Equal(3, ds.NumClasses);
        Assert.Equal(3, ds.Count);
        Assert.Equal(new SampleShape(3, 8, 8), ds.Shape);
        Assert.Equal(["x.jpeg", "a.JPG", "b.png"], ds.Files.Select(Path.GetFileName));
        var x = new float[3 * 64];
        Assert.Equal(0, ds.ReadSample(0, x));
        AssertSolid(x, 64, Red, tolerance: 4);
        Assert.Equal(2, ds.ReadSample(1, x));
        AssertSolid(x, 64, Blue, tolerance: 4);
        Assert.Equal(2, ds.ReadSample(2, x));
        AssertSolid(x, 64, Blue, tolerance: 0); // PNG is lossless and the colour is flat
    }

    [Fact]
    public void ResizeCenterCropKeepsTheCentre()
    {
        // 40 wide x 20 high: red left half, blue right half, a green 4x4 square in the middle.
        byte[] png = TestFiles.Encode(
            40,
            20,
            (x, y) =>
                Math.Abs(x - 19.5) < 2 && Math.Abs(y - 9.5) < 2 ? new SKColor(0, 255, 0)
                : x < 20 ? Red
                : Blue,
            SKEncodedImageFormat.Png
        );
        var geometry = new ResizeCenterCrop(resizeTo: 10, crop: 10);
        var random = new SampleRandom(1);
        // Shorter side 20 -> 10 (scale 2): the 10x10 centre crop is the central 20x20 source square.
        Assert.Equal(new CropRect(10, 0, 20, 20), geometry.ChooseSource(40, 20, ref random));
        var x = new float[3 * 100];
        ImageDecoder.DecodeInto(png, "c.png", geometry, ref random, x);
        // Left column red, right column blue, centre green.
        Assert.True(x[0 * 100 + 5 * 10 + 0] > 0.7f && x[2 * 100 + 5 * 10 + 0] < 0.2f);
        Assert.True(x[2 * 100 + 5 * 10 + 9] > 0.8f && x[0 * 100 + 5 * 10 + 9] < 0.2f);
        Assert.True(x[1 * 100 + 5 * 10 + 5] > 0.5f);
    }

    [Fact]
    public void RandomResizedCropIsInsideAndDeterministic()
    {
        var rrc = new RandomResizedCrop(224);
        for (int i = 0; i < 2000; i++)
        {
            int w = 50 + i % 400;
            int h = 30 + i * 7 % 500;
            var r1 = SampleRandom.ForSample(9, 1, i);
            var r2 = SampleRandom.ForSample(9, 1, i);
            CropRect a = rrc.ChooseSource(w, h, ref r1);
            Assert.Equal(a, rrc.ChooseSource(w, h, ref r2));
            Assert.True(
                a.X >= 0
                    && a.Y >= 0
                    && a.Width >= 1
                    && a.Height >= 1
                    && a.X + a.Width <= w
                    && a.Y + a.Height <= h,
                $"{a} in {w}x{h}"
            );
            double area = (double)a.Width * a.Height / (w * h);
            Assert.True(area <= 1.0 + 1e-9);
        }
        // Extreme aspect ratio: falls back to a centred crop with ratio clamped to 4/3.
        var r = new SampleRandom(3);
        CropRect wide = new RandomResizedCrop(8, scaleMin: 0.99, scaleMax: 1.0).ChooseSource(
            1000,
            10,
            ref r
        );
        Assert.Equal(new CropRect((1000 - 13) / 2, 0, 13, 10), wide);
    }

    [Fact]
    public void RgbChannelsArePlanarAndExact()
    {
        byte[] png = TestFiles.Encode(
            3,
            2,
            (x, y) => new SKColor((byte)(10 * x + y), (byte)(100 + x), (byte)(200 + y)),
            SKEncodedImageFormat.Png
        );
        var x = new float[3 * 6];
        var random = new SampleRandom(0);
        ImageDecoder.DecodeInto(png, "p", new Resize(2, 3), ref random, x);
        for (int y = 0; y < 2; y++)
        for (int i = 0; i < 3; i++)
        {
            Assert.Equal((10 * i + y) / 255f, x[0 * 6 + y * 3 + i], 1e-6);
            Assert.Equal((100 + i) / 255f, x[1 * 6 + y * 3 + i], 1e-6);
            Assert.Equal((200 + y) / 255f, x[2 * 6 + y * 3 + i], 1e-6);
        }
    }

    [Theory]
    [InlineData("png")]
    [InlineData("jpg")]
    public void TruncatedImageNamesTheFile(string ext)
    {
        using var dir = new TempDir();
        Directory.CreateDirectory(dir.File("c"));
        byte[] full = TestFiles.Encode(
            64,
            64,
            (x, y) => new SKColor((byte)(x * 4), (byte)(y * 4), (byte)(x ^ y)),
            ext == "png" ? SKEncodedImageFormat.Png : SKEncodedImageFormat.Jpeg,
            90
        );
        string path = dir.File("c/cut." + ext);
        File.WriteAllBytes(path, full[..(full.Length / 2)]);
        var ds = new ImageFolderDataset(dir.Path, new Resize(8, 8));
        var e = Assert.Throws<DataFormatException>(() => ds.ReadSample(0, new float[3 * 64]));
        Assert.Equal(path, e.File);
        Assert.Contains(path, e.Message);
        Assert.Contains("truncated", e.Message);
    }

    [Fact]
    public void UndecodableImageNamesTheFile()
    {
        using var dir = new TempDir();
        Directory.CreateDirectory(dir.File("c"));
        string path = dir.File("c/text.png");
        File.WriteAllText(path, "this is not a PNG file at all");
        var ds = new ImageFolderDataset(dir.Path, new Resize(4, 4));
        var e = Assert.Throws<DataFormatException>(() => ds.ReadSample(0, new float[48]));
        Assert.Equal(path, e.File);
        Assert.Contains("expected JPEG or PNG", e.Message);
        File.WriteAllBytes(path, []);
        Assert.Contains(
            "empty",
            Assert.Throws<DataFormatException>(() => ds.ReadSample(0, new float[48])).Message
        );
    }

    [Fact]
    public void FolderWithoutImagesIsRejected()
    {
        using var dir = new TempDir();
        Directory.CreateDirectory(dir.File("only-class"));
        var e = Assert.Throws<DataFormatException>(() =>
            new ImageFolderDataset(dir.Path, new Resize(4, 4))
        );
        Assert.Contains("one subfolder per class", e.Message);
        Assert.Throws<DirectoryNotFoundException>(() =>
            new ImageFolderDataset(dir.File("missing"), new Resize(4, 4))
        );
    }

    [Fact]
    public void LoaderDecodesOnWorkersInOrder()
    {
        using var dir = new TempDir();
        for (int c = 0; c < 3; c++)
        {
            Directory.CreateDirectory(dir.File($"c{c}"));
            for (int i = 0; i < 7; i++)
                File.WriteAllBytes(
                    dir.File($"c{c}/{i}.png"),
                    TestFiles.SolidPng(12 + i, 9, new SKColor((byte)(c * 100), (byte)(i * 30), 0))
                );
        }
        var ds = new ImageFolderDataset(dir.Path, new RandomResizedCrop(6));
        using var parallel = new DataLoader(
            ds,
            new DataLoaderOptions
            {
                BatchSize = 4,
                Seed = 5,
                Workers = 3,
            }
        );
        using var serial = new DataLoader(
            ds,
            new DataLoaderOptions
            {
                BatchSize = 4,
                Seed = 5,
                Workers = 0,
            }
        );
        var a = parallel.Epoch(1).Select(b => (b.Labels.ToArray(), b.Images.ToArray())).ToList();
        var b = serial.Epoch(1).Select(b => (b.Labels.ToArray(), b.Images.ToArray())).ToList();
        Assert.Equal(6, a.Count);
        for (int i = 0; i < a.Count; i++)
        {
            Assert.Equal(b[i].Item1, a[i].Item1);
            Assert.Equal(b[i].Item2, a[i].Item2);
        }
    }

    [Fact]
    public void LargeJpegIsDecodedAtReducedScaleWithTheSameContent()
    {
        // 400x300: left half red, right half blue. The output (10x10 of the centre 300x300) is
        // small enough that the JPEG is decoded at 1/8 scale; the halves must stay where they are.
        byte[] jpg = TestFiles.Encode(
            400,
            300,
            (x, _) => x < 200 ? Red : Blue,
            SKEncodedImageFormat.Jpeg,
            95
        );
        var random = new SampleRandom(0);
        var y = new float[3 * 100];
        ImageDecoder.DecodeInto(jpg, "big.jpg", new ResizeCenterCrop(10, 10), ref random, y);
        for (int row = 0; row < 10; row++)
        {
            Assert.True(
                y[row * 10 + 1] > 0.7f && y[200 + row * 10 + 1] < 0.2f,
                $"row {row} left is not red"
            );
            Assert.True(
                y[200 + row * 10 + 8] > 0.75f && y[row * 10 + 8] < 0.2f,
                $"row {row} right is not blue"
            );
        }
        using SKBitmap full = ImageDecoder.Decode(jpg, "big.jpg");
        Assert.Equal((400, 300), (full.Width, full.Height));
        using SKCodec codec = SKCodec.Create(SKData.CreateCopy(jpg));
        (int w, int h) = ImageDecoder.DecodeSize(codec, new CropRect(50, 0, 300, 300), 10, 10);
        Assert.True(w < 400 && h < 300 && w * 300 / 400 >= 10, $"decode size {w}x{h}");
        using SKCodec pngCodec = SKCodec.Create(
            SKData.CreateCopy(TestFiles.SolidPng(400, 300, Red))
        );
        Assert.Equal(
            (400, 300),
            ImageDecoder.DecodeSize(pngCodec, new CropRect(50, 0, 300, 300), 10, 10)
        );
    }

    private static void AssertSolid(float[] x, int plane, SKColor c, int tolerance)
    {
        byte[] rgb = [c.Red, c.Green, c.Blue];
        for (int ch = 0; ch < 3; ch++)
        for (int p = 0; p < plane; p++)
            Assert.True(
                Math.Abs(x[ch * plane + p] * 255f - rgb[ch]) <= tolerance + 0.01,
                $"channel {ch} pixel {p}: {x[ch * plane + p] * 255f} vs {rgb[ch]}"
            );
    }
}
