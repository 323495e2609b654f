namespace SpikeEngine.Data;

/// <summary>A rectangle of source pixels: top-left corner (X, Y) and size.</summary>
public readonly record struct CropRect(int X, int Y, int Width, int Height);

/// <summary>
/// The decode-time geometry of an image-folder sample: which rectangle of the decoded image is
/// taken and the fixed size it is resampled to. Images in a folder differ in size, so this step
/// fixes every sample to (3, OutputHeight, OutputWidth) before any float transform runs.
/// </summary>
public interface IImageGeometry
{
    int OutputHeight { get; }
    int OutputWidth { get; }

    /// <summary>The source rectangle for an image of the given size; inside the image, non-empty.</summary>
    CropRect ChooseSource(int imageWidth, int imageHeight, ref SampleRandom random);
}

/// <summary>Resamples the whole image to (Height, Width), ignoring the aspect ratio.</summary>
public sealed class Resize : IImageGeometry
{
    public Resize(int height, int width)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        OutputHeight = height;
        OutputWidth = width;
    }

    public int OutputHeight { get; }
    public int OutputWidth { get; }

    public CropRect ChooseSource(int imageWidth, int imageHeight, ref SampleRandom random) =>
        new(0, 0, imageWidth, imageHeight);
}

/// <summary>
/// The ImageNet evaluation geometry: scale the shorter side to <c>ResizeTo</c> (256), then take the
/// central <c>Crop</c> x <c>Crop</c> (224) window. Computed as the equivalent source rectangle,
/// so only the pixels kept are resampled.
/// </summary>
public sealed class ResizeCenterCrop : IImageGeometry
{
    public ResizeCenterCrop(int resizeTo = 256, int crop = 224)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(crop, 1);
        if (resizeTo < crop)
            throw new ArgumentOutOfRangeException(
                nameof(resizeTo),
                resizeTo,
                $"ResizeCenterCrop: resizeTo must be at least crop ({crop})"
            );
        ResizeTo = resizeTo;
        Crop = crop;
    }

    public int ResizeTo { get; }
    public int Crop { get; }
    public int OutputHeight => Crop;
    public int OutputWidth => Crop;

    public CropRect ChooseSource(int imageWidth, int imageHeight, ref SampleRandom random)
    {
        double scale = (double)Math.Min(imageWidth, imageHeight) / ResizeTo; // source pixels per resized pixel
        int w = Math.Clamp((int)Math.Round(Crop * scale), 1, imageWidth);
        int h = Math.Clamp((int)Math.Round(Crop * scale), 1, imageHeight);
        return new CropRect((imageWidth - w) / 2, (imageHeight - h) / 2, w, h);
    }
}

/// <summary>
/// The Inception / ImageNet training geometry (torchvision's RandomResizedCrop): a random
/// rectangle covering a fraction in [ScaleMin, ScaleMax] of the image area with aspect ratio
/// log-uniform in [RatioMin, RatioMax], resampled to Size x Size; after 10 failed draws, the
/// central crop with the ratio clamped into range.
/// </summary>
public sealed class RandomResizedCrop : IImageGeometry
{
    public RandomResizedCrop(
        int size,
        double scaleMin = 0.08,
        double scaleMax = 1.0,
        double ratioMin = 3.0 / 4,
        double ratioMax = 4.0 / 3
    )
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 1);
        if (!(scaleMin > 0 && scaleMin <= scaleMax && scaleMax <= 1))
            throw new ArgumentOutOfRangeException(
                nameof(scaleMin),
                $"RandomResizedCrop: need 0 < scaleMin <= scaleMax <= 1, got ({scaleMin}, {scaleMax})"
            );
        if (!(ratioMin > 0 && ratioMin <= ratioMax && double.IsFinite(ratioMax)))
            throw new ArgumentOutOfRangeException(
                nameof(ratioMin),
                $"RandomResizedCrop: need 0 < ratioMin <= ratioMax, got ({ratioMin}, {ratioMax})"
            );
        Size = size;
        ScaleMin = scaleMin;
        ScaleMax = scaleMax;
        RatioMin = ratioMin;
        RatioMax = ratioMax;
    }

    public int Size { get; }
    public double ScaleMin { get; }
    public double ScaleMax { get; }
    public double RatioMin { get; }
    public double RatioMax { get; }
    public int OutputHeight => Size;
    public int OutputWidth => Size;

    public CropRect ChooseSource(int imageWidth, int imageHeight, ref SampleRandom random)
    {
        double area = (double)imageWidth * imageHeight;
        double logMin = Math.Log(RatioMin);
        double logMax = Math.Log(RatioMax);
        for (int attempt = 0; attempt < 10; attempt++)
        {
            double target = area * random.NextDouble(ScaleMin, ScaleMax);
            double ratio = Math.Exp(random.NextDouble(logMin, logMax));
            int w = (int)Math.Round(Math.Sqrt(target * ratio));
            int h = (int)Math.Round(Math.Sqrt(target / ratio));
            if (w > 0 && h > 0 && w <= imageWidth && h <= imageHeight)
            {
                int y = random.NextInt(imageHeight - h + 1);
                int x = random.NextInt(imageWidth - w + 1);
                return new CropRect(x, y, w, h);
            }
        }
        double inRatio = (double)imageWidth / imageHeight;
        int cw,
            ch;
        if (inRatio < RatioMin)
        {
            cw = imageWidth;
            ch = (int)Math.Round(cw / RatioMin);
        }
        else if (inRatio > RatioMax)
        {
            ch = imageHeight;
            cw = (int)Math.Round(ch * RatioMax);
        }
        else
        {
            cw = imageWidth;
            ch = imageHeight;
        }
        cw = Math.Clamp(cw, 1, imageWidth);
        ch = Math.Clamp(ch, 1, imageHeight);
        return new CropRect((imageWidth - cw) / 2, (imageHeight - ch) / 2, cw, ch);
    }
}
