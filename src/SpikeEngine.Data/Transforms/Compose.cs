using System.Buffers;

namespace SpikeEngine.Data;

/// <summary>Applies transforms in order, ping-ponging between two per-thread scratch buffers.</summary>
public sealed class Compose : ITransform
{
    private readonly ITransform[] _transforms;

    public Compose(params ITransform[] transforms)
    {
        ArgumentNullException.ThrowIfNull(transforms);
        for (int i = 0; i < transforms.Length; i++)
        {
            if (transforms[i] is null)
                throw new ArgumentNullException(nameof(transforms), $"transforms[{i}] is null");
        }
        _transforms = (ITransform[])transforms.Clone();
    }

    /// <summary>The transforms, in the order they run.</summary>
    public IReadOnlyList<ITransform> Transforms => _transforms;

    public SampleShape OutputShape(SampleShape input)
    {
        foreach (ITransform t in _transforms)
            input = t.OutputShape(input);
        return input;
    }

    public void Apply(
        ReadOnlySpan<float> source,
        SampleShape shape,
        Span<float> destination,
        ref SampleRandom random
    )
    {
        if (_transforms.Length == 0)
        {
            source[..shape.Size].CopyTo(destination);
            return;
        }
        // Two pooled buffers (not per-thread statics, so a Compose nested in a Compose is safe).
        int largest = 0;
        SampleShape s = shape;
        foreach (ITransform t in _transforms)
        {
            s = t.OutputShape(s);
            largest = Math.Max(largest, s.Size);
        }
        float[] a = ArrayPool<float>.Shared.Rent(largest);
        float[] b = ArrayPool<float>.Shared.Rent(largest);
        try
        {
            ReadOnlySpan<float> current = source;
            for (int i = 0; i < _transforms.Length; i++)
            {
                SampleShape next = _transforms[i].OutputShape(shape);
                Span<float> target =
                    i == _transforms.Length - 1
                        ? destination
                        : (i % 2 == 0 ? a : b).AsSpan(0, next.Size);
                _transforms[i].Apply(current, shape, target, ref random);
                current = target;
                shape = next;
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(a);
            ArrayPool<float>.Shared.Return(b);
        }
    }
}
