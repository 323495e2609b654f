using System.Numerics.Tensors;

namespace SpikeEngine.Data;

/// <summary>Per-channel standardisation: <c>y[c] = (x[c] - mean[c]) / std[c]</c>.</summary>
public sealed class Normalize : ITransform
{
    private readonly float[] _mean;
    private readonly float[] _inverseStd;

    public Normalize(IReadOnlyList<float> mean, IReadOnlyList<float> std)
    {
        ArgumentNullException.ThrowIfNull(mean);
        ArgumentNullException.ThrowIfNull(std);
        if (mean.Count == 0 || mean.Count != std.Count)
            throw new ArgumentException(
                $"Normalize: mean has {mean.Count} values and std {std.Count}; expected one per channel, equal counts",
                nameof(std)
            );
        _mean = mean.ToArray();
        _inverseStd = new float[std.Count];
        for (int c = 0; c < std.Count; c++)
        {
            if (!(std[c] > 0) || !float.IsFinite(std[c]))
                throw new ArgumentOutOfRangeException(
                    nameof(std),
                    std[c],
                    $"Normalize: std[{c}] must be positive and finite"
                );
            if (!float.IsFinite(mean[c]))
                throw new ArgumentOutOfRangeException(
                    nameof(mean),
                    mean[c],
                    $"Normalize: mean[{c}] must be finite"
                );
            _inverseStd[c] = 1f / std[c];
        }
    }

    /// <summary>MNIST training-set statistics (0.1307, 0.3081).</summary>
    public static Normalize Mnist => new([0.1307f], [0.3081f]);

    /// <summary>CIFAR-10 training-set statistics.</summary>
    public static Normalize Cifar10 =>
        new([0.4914f, 0.4822f, 0.4465f], [0.2470f, 0.2435f, 0.2616f]);

    /// <summary>CIFAR-100 training-set statistics.</summary>
    public static Normalize Cifar100 =>
        new([0.5071f, 0.4865f, 0.4409f], [0.2673f, 0.2564f, 0.2762f]);

    /// <summary>ImageNet statistics.</summary>
    public static Normalize ImageNet => new([0.485f, 0.456f, 0.406f], [0.229f, 0.224f, 0.225f]);

    public SampleShape OutputShape(SampleShape input)
    {
        if (input.Channels != _mean.Length)
            throw new ArgumentException(
                $"Normalize: has statistics for {_mean.Length} channels, the sample shape {input} has {input.Channels}"
            );
        return input;
    }

    public void Apply(
        ReadOnlySpan<float> source,
        SampleShape shape,
        Span<float> destination,
        ref SampleRandom random
    )
    {
        OutputShape(shape);
        int plane = shape.PlaneSize;
        for (int c = 0; c < shape.Channels; c++)
        {
            Span<float> dst = destination.Slice(c * plane, plane);
            TensorPrimitives.Subtract(source.Slice(c * plane, plane), _mean[c], dst);
            TensorPrimitives.Multiply(dst, _inverseStd[c], dst);
        }
    }
}
