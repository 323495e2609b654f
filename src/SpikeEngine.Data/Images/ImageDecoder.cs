using System.Runtime.InteropServices;
using SkiaSharp;

namespace SpikeEngine.Data;

/// <summary>
/// Decodes JPEG / PNG (and the other formats Skia reads) with SkiaSharp, crops and resamples to a
/// fixed size, and writes planar RGB floats in [0, 1]. Every failure is a
/// <see cref="DataFormatException"/> naming the image.
/// </summary>
public static class ImageDecoder
{
    /// <summary>Refuse images whose header claims more pixels than this (a forged header must not allocate gigabytes).</summary>
    public const long MaxPixels = 1L << 28;

    // Linear filtering with mipmaps: bilinear when enlarging, antialiased when shrinking.
    private static readonly SKSamplingOptions s_sampling = new(
        SKFilterMode.Linear,
        SKMipmapMode.Linear
    );

    /// <summary>
    /// Decodes <paramref name="encoded"/>, takes the rectangle <paramref name="geometry"/> chooses
    /// and resamples it into <paramref name="destination"/> as (3, OutputHeight, OutputWidth).
    /// </summary>
    public static void DecodeInto(
        ReadOnlySpan<byte> encoded,
        string name,
        IImageGeometry geometry,
        ref SampleRandom random,
        Span<float> destination
    )
    {
        ArgumentNullException.ThrowIfNull(geometry);
        int outW = geometry.OutputWidth;
        int outH = geometry.OutputHeight;
        if (destination.Length < 3 * outW * outH)
            throw new ArgumentException(
                $"destination holds {destination.Length} floats, need {3 * outW * outH}",
                nameof(destination)
            );

        using SKData data = SKData.CreateCopy(encoded);
        using SKCodec codec = Open(encoded, data, name);
        SKImageInfo info = codec.Info;
        CropRect rect = geometry.ChooseSource(info.Width, info.Height, ref random);
        if (
            rect.Width <= 0
            || rect.Height <= 0
            || rect.X < 0
            || rect.Y < 0
            || rect.X + rect.Width > info.Width
            || rect.Y + rect.Height > info.Height
        )
            throw new InvalidOperationException(
                $"{geometry.GetType().Name} chose {rect} outside a {info.Width}x{info.Height} image"
            );

        (int dw, int dh) = DecodeSize(codec, rect, outW, outH);
        if (dw != info.Width)
        {
            int x = (int)((long)rect.X * dw / info.Width);
            int y = (int)((long)rect.Y * dh / info.Height);
            int w = Math.Clamp((int)Math.Round((double)rect.Width * dw / info.Width), 1, dw - x);
            int h = Math.Clamp((int)Math.Round((double)rect.Height * dh / info.Height), 1, dh - y);
            rect = new CropRect(x, y, w, h);
        }
        using SKBitmap full = DecodePixels(codec, dw, dh, name);

        if (rect.X == 0 && rect.Y == 0 && rect.Width == outW && rect.Height == outH)
        {
            ToPlanarRgb(full, destination);
            return;
        }
        using var subset = new SKBitmap();
        if (
            !full.ExtractSubset(
                subset,
                new SKRectI(rect.X, rect.Y, rect.X + rect.Width, rect.Y + rect.Height)
            )
        )
            throw new InvalidOperationException(
                $"could not take {rect} from a {full.Width}x{full.Height} image"
            );
        using var scaled = new SKBitmap(
            new SKImageInfo(outW, outH, SKColorType.Rgba8888, SKAlphaType.Unpremul)
        );
        if (!subset.ScalePixels(scaled, s_sampling))
            throw new DataFormatException(
                name,
                "image data",
                $"could not resample {rect} to {outW}x{outH}"
            );
        ToPlanarRgb(scaled, destination);
    }

    /// <summary>
    /// JPEG decoders shrink by k/8 while decoding (DCT scaling), far cheaper than decoding in full
    /// and resampling: the smallest decode size that keeps at least the output resolution over
    /// <paramref name="rect"/>. Formats that cannot scale report their full size.
    /// </summary>
    internal static (int Width, int Height) DecodeSize(
        SKCodec codec,
        CropRect rect,
        int outW,
        int outH
    )
    {
        SKImageInfo info = codec.Info;
        double need = Math.Max((double)outW / rect.Width, (double)outH / rect.Height);
        if (need >= 1)
            return (info.Width, info.Height);
        SKSizeI s = codec.GetScaledDimensions((float)need);
        bool enough =
            s.Width > 0
            && s.Height > 0
            && s.Width < info.Width
            && (long)rect.Width * s.Width / info.Width >= outW
            && (long)rect.Height * s.Height / info.Height >= outH;
        return enough ? (s.Width, s.Height) : (info.Width, info.Height);
    }

    /// <summary>Decodes to an RGBA8888 (unpremultiplied) bitmap at full size; the caller disposes it.</summary>
    public static SKBitmap Decode(ReadOnlySpan<byte> encoded, string name)
    {
        using SKData data = SKData.CreateCopy(encoded);
        using SKCodec codec = Open(encoded, data, name);
        return DecodePixels(codec, codec.Info.Width, codec.Info.Height, name);
    }

    private static SKCodec Open(ReadOnlySpan<byte> encoded, SKData data, string name)
    {
        if (encoded.IsEmpty)
            throw new DataFormatException(
                name,
                "offset 0",
                "file is empty; expected a JPEG or PNG image"
            );
        SKCodec? codec = SKCodec.Create(data);
        if (codec is null)
            throw new DataFormatException(
                name,
                "header",
                $"not a decodable image (first bytes {Convert.ToHexString(encoded[..Math.Min(8, encoded.Length)])}); expected JPEG or PNG"
            );
        SKImageInfo info = codec.Info;
        if (info.Width <= 0 || info.Height <= 0 || (long)info.Width * info.Height > MaxPixels)
        {
            codec.Dispose();
            throw new DataFormatException(
                name,
                "header",
                $"image size {info.Width}x{info.Height} is empty or larger than {MaxPixels} pixels"
            );
        }
        return codec;
    }

    private static SKBitmap DecodePixels(SKCodec codec, int width, int height, string name)
    {
        var target = new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        var bitmap = new SKBitmap();
        try
        {
            if (!bitmap.TryAllocPixels(target))
                throw new DataFormatException(
                    name,
                    "header",
                    $"cannot allocate a {width}x{height} image"
                );
            SKCodecResult result = codec.GetPixels(target, bitmap.GetPixels());
            if (result != SKCodecResult.Success)
                throw new DataFormatException(
                    name,
                    "image data",
                    result == SKCodecResult.IncompleteInput
                        ? $"image data ends early (truncated {codec.Info.Width}x{codec.Info.Height} image)"
                        : $"decoding failed: {result}"
                );
            return bitmap;
        }
        catch
        {
            bitmap.Dispose();
            throw;
        }
    }

    /// <summary>RGBA8888 pixels to planar (3, H, W) floats in [0, 1]; alpha is dropped.</summary>
    private static void ToPlanarRgb(SKBitmap bitmap, Span<float> destination)
    {
        int w = bitmap.Width;
        int h = bitmap.Height;
        int plane = w * h;
        int rowBytes = bitmap.RowBytes;
        ReadOnlySpan<byte> pixels = bitmap.GetPixelSpan();
        Span<float> r = destination[..plane];
        Span<float> g = destination.Slice(plane, plane);
        Span<float> b = destination.Slice(2 * plane, plane);
        const float scale = 1f / 255f;
        for (int y = 0; y < h; y++)
        {
            ReadOnlySpan<uint> row = MemoryMarshal.Cast<byte, uint>(
                pixels.Slice(y * rowBytes, 4 * w)
            );
            int o = y * w;
            for (int x = 0; x < w; x++)
            {
                uint p = row[x]; // bytes R, G, B, A in memory order (little-endian: R is the low byte)
                r[o + x] = (p & 0xFF) * scale;
                g[o + x] = ((p >> 8) & 0xFF) * scale;
                b[o + x] = ((p >> 16) & 0xFF) * scale;
            }
        }
    }
}
