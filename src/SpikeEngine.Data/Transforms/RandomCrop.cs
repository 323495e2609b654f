namespace SpikeEngine.Data;

/// <summary>
/// Pads the image by <c>Padding</c> pixels of value <c>Fill</c> on every side, then crops a
/// (Height, Width) window at a uniformly random position (the CIFAR augmentation: 32x32, padding 4).
/// </summary>
public sealed class RandomCrop : ITransform
{
    public RandomCrop(int height, int width, int padding = 0, float fill = 0f)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(padding);
        Height = height;
        Width = width;
        Padding = padding;
        Fill = fill;
    }

    /// <summary>Square crop of side <paramref name="size"/>.</summary>
    public RandomCrop(int size, int padding = 0)
        : this(size, size, padding) { }

    public int Height { get; }
    public int Width { get; }
    public int Padding { get; }
    public float Fill { get; }

    public SampleShape OutputShape(SampleShape input)
    {
        if (input.Height + 2 * Padding < Height || input.Width + 2 * Padding < Width)
            throw new ArgumentException(
                $"RandomCrop: a {Height}x{Width} crop does not fit a {input.Height}x{input.Width} image padded by {Padding}"
            );
        return input with { Height = Height, Width = Width };
    }

    public void Apply(
        ReadOnlySpan<float> source,
        SampleShape shape,
        Span<float> destination,
        ref SampleRandom random
    )
    {
        OutputShape(shape);
        // Window origin in padded coordinates, then in source coordinates.
        int top = random.NextInt(shape.Height + 2 * Padding - Height + 1) - Padding;
        int left = random.NextInt(shape.Width + 2 * Padding - Width + 1) - Padding;
        CopyWindow(source, shape, destination, top, left, Height, Width, Fill);
    }

    /// <summary>
    /// Copies the window whose top-left corner is (top, left) in source coordinates, which may lie
    /// outside the image; pixels outside are <paramref name="fill"/>.
    /// </summary>
    internal static void CopyWindow(
        ReadOnlySpan<float> source,
        SampleShape shape,
        Span<float> destination,
        int top,
        int left,
        int height,
        int width,
        float fill
    )
    {
        int x0 = Math.Clamp(-left, 0, width); // first output column inside the image
        int x1 = Math.Clamp(shape.Width - left, x0, width); // one past the last
        for (int c = 0; c < shape.Channels; c++)
        {
            ReadOnlySpan<float> src = source.Slice(c * shape.PlaneSize, shape.PlaneSize);
            Span<float> dst = destination.Slice(c * height * width, height * width);
            for (int y = 0; y < height; y++)
            {
                Span<float> row = dst.Slice(y * width, width);
                int sy = top + y;
                if (sy < 0 || sy >= shape.Height || x0 == x1)
                {
                    row.Fill(fill);
                    continue;
                }
                row[..x0].Fill(fill);
                src.Slice(sy * shape.Width + left + x0, x1 - x0).CopyTo(row[x0..x1]);
                row[x1..].Fill(fill);
            }
        }
    }
}

/// <summary>Crops the central (Height, Width) window (offsets rounded down when the margin is odd).</summary>
public sealed class CenterCrop : ITransform
{
    public CenterCrop(int height, int width)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        Height = height;
        Width = width;
    }

    public int Height { get; }
    public int Width { get; }

    public SampleShape OutputShape(SampleShape input)
    {
        if (input.Height < Height || input.Width < Width)
            throw new ArgumentException(
                $"CenterCrop: a {Height}x{Width} crop does not fit a {input.Height}x{input.Width} image"
            );
        return input with { Height = Height, Width = Width };
    }

    public void Apply(
        ReadOnlySpan<float> source,
        SampleShape shape,
        Span<float> destination,
        ref SampleRandom random
    )
    {
        OutputShape(shape);
        RandomCrop.CopyWindow(
            source,
            shape,
            destination,
            (shape.Height - Height) / 2,
            (shape.Width - Width) / 2,
            Height,
            Width,
            0f
        );
    }
}
