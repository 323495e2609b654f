using System.Buffers;

namespace SpikeEngine.Data;

/// <summary>A dataset whose samples pass through a transform on read.</summary>
public sealed class TransformedDataset : IDataset
{
    public TransformedDataset(IDataset inner, ITransform transform)
    {
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentNullException.ThrowIfNull(transform);
        Inner = inner;
        Transform = transform;
        Shape = transform.OutputShape(inner.Shape);
    }

    public IDataset Inner { get; }
    public ITransform Transform { get; }
    public int Count => Inner.Count;
    public SampleShape Shape { get; }
    public int NumClasses => Inner.NumClasses;

    public int ReadSample(int index, Span<float> destination, ref SampleRandom random)
    {
        int size = Inner.Shape.Size;
        // Pooled rather than per-thread, so nested transformed datasets never share a buffer.
        float[] rented = ArrayPool<float>.Shared.Rent(size);
        try
        {
            Span<float> raw = rented.AsSpan(0, size);
            int label = Inner.ReadSample(index, raw, ref random);
            Transform.Apply(raw, Inner.Shape, destination, ref random);
            return label;
        }
        finally
        {
            ArrayPool<float>.Shared.Return(rented);
        }
    }
}

/// <summary>Composition helpers.</summary>
public static class DatasetExtensions
{
    /// <summary>
    /// Reads sample <paramref name="index"/> with the random stream of (seed 0, epoch 0, index):
    /// a fixed, reproducible draw for evaluation and inspection.
    /// </summary>
    public static int ReadSample(this IDataset dataset, int index, Span<float> destination)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        var random = SampleRandom.ForSample(0, 0, index);
        return dataset.ReadSample(index, destination, ref random);
    }

    /// <summary>Returns <paramref name="dataset"/> with <paramref name="transforms"/> applied in order on every read.</summary>
    public static IDataset WithTransforms(this IDataset dataset, params ITransform[] transforms) =>
        transforms.Length == 1
            ? new TransformedDataset(dataset, transforms[0])
            : new TransformedDataset(dataset, new Compose(transforms));
}
