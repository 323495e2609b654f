using System.Numerics.Tensors;

namespace SpikeEngine.Data;

/// <summary>
/// A dataset held in memory as raw uint8 pixels, one contiguous (N, C, H, W) array, converted to
/// floats in [0, 1] (value / 255) on read. MNIST (47 MB) and CIFAR (150 MB) fit comfortably;
/// four times less memory than storing floats.
/// </summary>
public sealed class ByteImageDataset : IDataset
{
    private readonly byte[] _pixels; // (N, C, H, W)
    private readonly int[] _labels; // (N)

    /// <summary>
    /// Wraps <paramref name="pixels"/> (N*C*H*W bytes, channel-major per sample) and
    /// <paramref name="labels"/> (N values in [0, numClasses)). The arrays are not copied.
    /// </summary>
    public ByteImageDataset(byte[] pixels, int[] labels, SampleShape shape, int numClasses)
    {
        ArgumentNullException.ThrowIfNull(pixels);
        ArgumentNullException.ThrowIfNull(labels);
        shape.Validated(nameof(shape));
        ArgumentOutOfRangeException.ThrowIfLessThan(numClasses, 1);
        if ((long)labels.Length * shape.Size != pixels.Length)
            throw new ArgumentException(
                $"pixels: expected {labels.Length} samples of shape {shape} = {(long)labels.Length * shape.Size} bytes, got {pixels.Length}",
                nameof(pixels)
            );
        for (int i = 0; i < labels.Length; i++)
        {
            if ((uint)labels[i] >= (uint)numClasses)
                throw new ArgumentException(
                    $"labels[{i}] = {labels[i]} is outside [0, {numClasses})",
                    nameof(labels)
                );
        }
        _pixels = pixels;
        _labels = labels;
        Shape = shape;
        NumClasses = numClasses;
    }

    public int Count => _labels.Length;

    public SampleShape Shape { get; }

    public int NumClasses { get; }

    /// <summary>The raw pixels, (N, C, H, W).</summary>
    public ReadOnlySpan<byte> Pixels => _pixels;

    /// <summary>The labels, (N).</summary>
    public ReadOnlySpan<int> Labels => _labels;

    public int ReadSample(int index, Span<float> destination, ref SampleRandom random)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Count);
        int size = Shape.Size;
        if (destination.Length < size)
            throw new ArgumentException(
                $"destination holds {destination.Length} floats, a sample of shape {Shape} needs {size}",
                nameof(destination)
            );
        BytesToUnit(_pixels.AsSpan(index * size, size), destination[..size]);
        return _labels[index];
    }

    /// <summary>destination[i] = source[i] / 255 (vectorised).</summary>
    internal static void BytesToUnit(ReadOnlySpan<byte> source, Span<float> destination)
    {
        TensorPrimitives.ConvertTruncating<byte, float>(source, destination);
        TensorPrimitives.Multiply(destination, 1f / 255f, destination);
    }
}
