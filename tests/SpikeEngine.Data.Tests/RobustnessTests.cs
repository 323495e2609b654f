using System.Diagnostics;
using SkiaSharp;

namespace SpikeEngine.Data.Tests;

/// <summary>
/// Feeds thousands of random and mutated byte strings to every reader and requires that the
/// only exception ever seen is <see cref="DataFormatException"/>, within a time bound.
/// </summary>
public class RobustnessTests
{
    private const int Cases = 3000;

    [Fact]
    public void IdxReaderOnlyThrowsDataFormatException()
    {
        var (images, labels) = TestFiles.IdxPair(6, 5, 4);
        byte[][] seeds = [images, labels, TestFiles.Gzip(images), TestFiles.Gzip(labels)];
        int accepted = Run(seeds, 101, bytes => IdxFile.Parse(bytes, "fuzz.idx"));
        Assert.True(
            accepted > 0,
            "no mutant parsed: the mutations are too destructive to exercise the happy path"
        );
    }

    [Fact]
    public void IdxDatasetOnlyThrowsDataFormatException()
    {
        var (images, labels) = TestFiles.IdxPair(6, 5, 4);
        var random = new Random(202);
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < 1000; i++)
        {
            byte[] l = Mutate(labels, random);
            try
            {
                IdxDataset.FromArrays(
                    IdxFile.Parse(images, "i"),
                    "i",
                    IdxFile.Parse(l, "l"),
                    "l",
                    10
                );
            }
            catch (DataFormatException) { }
        }
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(20));
    }

    [Fact]
    public void CifarReaderOnlyThrowsDataFormatException()
    {
        byte[][] seeds =
        [
            TestFiles.Cifar(2, CifarKind.Cifar10),
            TestFiles.Cifar(2, CifarKind.Cifar100),
        ];
        int accepted = Run(
            seeds,
            303,
            bytes => Cifar.Parse([(bytes, "fuzz.bin")], CifarKind.Cifar10)
        );
        accepted += Run(
            seeds,
            304,
            bytes => Cifar.Parse([(bytes, "fuzz.bin")], CifarKind.Cifar100)
        );
        Assert.True(accepted > 0);
    }

    [Fact]
    public void ImageDecoderOnlyThrowsDataFormatException()
    {
        byte[] png = TestFiles.Encode(
            16,
            12,
            (x, y) => new SKColor((byte)(x * 16), (byte)(y * 20), 7),
            SKEncodedImageFormat.Png
        );
        byte[] jpg = TestFiles.Encode(
            16,
            12,
            (x, y) => new SKColor((byte)(x * 16), (byte)(y * 20), 7),
            SKEncodedImageFormat.Jpeg,
            80
        );
        var geometry = new RandomResizedCrop(8);
        var destination = new float[3 * 64];
        int accepted = Run(
            [png, jpg],
            405,
            bytes =>
            {
                var random = new SampleRandom(1);
                ImageDecoder.DecodeInto(bytes, "fuzz.img", geometry, ref random, destination);
            }
        );
        Assert.True(accepted > 0);
    }

    /// <summary>Runs <see cref="Cases"/> inputs (random strings, mutants of the seeds); returns how many were accepted.</summary>
    private static int Run(byte[][] seeds, int seed, Action<byte[]> read)
    {
        var random = new Random(seed);
        var sw = Stopwatch.StartNew();
        int accepted = 0;
        for (int i = 0; i < Cases; i++)
        {
            byte[] input =
                i % 5 == 0 ? RandomBytes(random) : Mutate(seeds[random.Next(seeds.Length)], random);
            try
            {
                read(input);
                accepted++;
            }
            catch (DataFormatException e)
            {
                Assert.False(string.IsNullOrEmpty(e.File));
                Assert.False(string.IsNullOrEmpty(e.Location));
            }
            catch (Exception e)
            {
                Assert.Fail(
                    $"case {i} (seed {seed}, {input.Length} bytes {Convert.ToHexString(input[..Math.Min(32, input.Length)])}) threw {e}"
                );
            }
        }
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(60), $"{Cases} cases took {sw.Elapsed}");
        return accepted;
    }

    private static byte[] RandomBytes(Random random)
    {
        var bytes = new byte[random.Next(0, 64)];
        random.NextBytes(bytes);
        // Sometimes start with a real magic so the parser goes past the first check.
        if (bytes.Length >= 4 && random.Next(2) == 0)
        {
            byte[][] magics =
            [
                [0, 0, 8, 3],
                [0, 0, 8, 1],
                [0x1F, 0x8B, 8, 0],
                [0x89, 0x50, 0x4E, 0x47],
                [0xFF, 0xD8, 0xFF, 0xE0],
            ];
            magics[random.Next(magics.Length)].CopyTo(bytes, 0);
        }
        return bytes;
    }

    internal static byte[] Mutate(byte[] source, Random random)
    {
        byte[] bytes = (byte[])source.Clone();
        switch (random.Next(6))
        {
            case 0: // truncate
                return bytes[..random.Next(bytes.Length)];
            case 1: // append garbage
            {
                var extra = new byte[random.Next(1, 16)];
                random.NextBytes(extra);
                return [.. bytes, .. extra];
            }
            case 2: // flip bits, mostly in the header
                for (int k = random.Next(1, 4); k > 0; k--)
                {
                    int at =
                        random.Next(2) == 0
                            ? random.Next(Math.Min(24, bytes.Length))
                            : random.Next(bytes.Length);
                    bytes[at] ^= (byte)(1 << random.Next(8));
                }
                return bytes;
            case 3: // overwrite a header byte with an extreme value
                bytes[random.Next(Math.Min(16, bytes.Length))] =
                    random.Next(2) == 0 ? (byte)0xFF : (byte)0;
                return bytes;
            case 4: // random run
            {
                int at = random.Next(bytes.Length);
                int len = Math.Min(bytes.Length - at, random.Next(1, 32));
                random.NextBytes(bytes.AsSpan(at, len));
                return bytes;
            }
            default: // untouched (the readers must also accept the valid seeds)
                return bytes;
        }
    }
}
