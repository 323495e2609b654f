using System.Buffers.Binary;
using System.IO.Compression;
using SkiaSharp;

namespace SpikeEngine.Data.Tests;

/// <summary>Writes small files in the real formats into a temporary folder removed on dispose.</summary>
public sealed class TempDir : IDisposable
{
    public TempDir()
    {
        Path = System.IO.Path.Combine(
            System.IO.Path.GetTempPath(),
            "spike-data-" + Guid.NewGuid().ToString("N")
        );
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException) { }
    }
}

public static class TestFiles
{
    /// <summary>IDX bytes: 00 00 08 ndim, big-endian extents, data.</summary>
    public static byte[] Idx(int[] dims, byte[] data)
    {
        var bytes = new byte[4 + 4 * dims.Length + data.Length];
        bytes[2] = 0x08;
        bytes[3] = (byte)dims.Length;
        for (int d = 0; d < dims.Length; d++)
            BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4 + 4 * d), dims[d]);
        data.CopyTo(bytes, 4 + 4 * dims.Length);
        return bytes;
    }

    public static byte[] Gzip(byte[] raw)
    {
        using var output = new MemoryStream();
        using (var gz = new GZipStream(output, CompressionLevel.Fastest))
            gz.Write(raw);
        return output.ToArray();
    }

    /// <summary>n images of h x w with pixel (i, y, x) = (i*31 + y*7 + x) mod 256, labels i mod classes.</summary>
    public static (byte[] Images, byte[] Labels) IdxPair(int n, int h, int w, int classes = 10)
    {
        var pixels = new byte[n * h * w];
        for (int i = 0; i < n; i++)
        for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            pixels[(i * h + y) * w + x] = (byte)((i * 31 + y * 7 + x) % 256);
        var labels = new byte[n];
        for (int i = 0; i < n; i++)
            labels[i] = (byte)(i % classes);
        return (Idx([n, h, w], pixels), Idx([n], labels));
    }

    /// <summary>CIFAR records; pixel bytes of record r are (r + k) mod 256, fine label r mod classes, coarse r mod 20.</summary>
    public static byte[] Cifar(int records, CifarKind kind)
    {
        int labelBytes = Data.Cifar.LabelBytes(kind);
        int recordBytes = Data.Cifar.RecordBytes(kind);
        int classes = Data.Cifar.NumClasses(kind);
        var bytes = new byte[records * recordBytes];
        for (int r = 0; r < records; r++)
        {
            int o = r * recordBytes;
            if (kind == CifarKind.Cifar100)
                bytes[o] = (byte)(r % 20);
            bytes[o + labelBytes - 1] = (byte)(r % classes);
            for (int k = 0; k < Data.Cifar.ImageBytes; k++)
                bytes[o + labelBytes + k] = (byte)((r + k) % 256);
        }
        return bytes;
    }

    /// <summary>Encodes a w x h image whose pixel (x, y) has colour <paramref name="colour"/>(x, y).</summary>
    public static byte[] Encode(
        int w,
        int h,
        Func<int, int, SKColor> colour,
        SKEncodedImageFormat format,
        int quality = 100
    )
    {
        using var bitmap = new SKBitmap(
            new SKImageInfo(w, h, SKColorType.Rgba8888, SKAlphaType.Unpremul)
        );
        for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            bitmap.SetPixel(x, y, colour(x, y));
        using SKData data = bitmap.Encode(format, quality);
        return data.ToArray();
    }

    public static byte[] SolidPng(int w, int h, SKColor c) =>
        Encode(w, h, (_, _) => c, SKEncodedImageFormat.Png);

    public static byte[] SolidJpeg(int w, int h, SKColor c) =>
        Encode(w, h, (_, _) => c, SKEncodedImageFormat.Jpeg);
}
