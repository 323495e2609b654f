namespace SpikeEngine.Data;

/// <summary>
/// One batch: images (N, C, H, W) and labels (N) in contiguous buffers owned by the loader.
/// The buffers are pinned (allocated on the pinned heap) so a device copy needs no pinning, and
/// are reused: a batch is valid until the next <see cref="DataLoader.TryGetNext"/>,
/// <see cref="DataLoader.StartAt"/> or <see cref="DataLoader.Dispose"/> call.
/// </summary>
public sealed class Batch
{
    internal Batch(int capacity, SampleShape shape)
    {
        SampleShape = shape;
        ImageBuffer = GC.AllocateArray<float>(checked(capacity * shape.Size), pinned: true);
        LabelBuffer = GC.AllocateArray<int>(capacity, pinned: true);
        IndexBuffer = new int[capacity];
    }

    /// <summary>Shape of one sample (C, H, W).</summary>
    public SampleShape SampleShape { get; }

    /// <summary>Number of samples N in this batch (smaller than the batch size only for a kept last batch).</summary>
    public int Count { get; internal set; }

    /// <summary>Epoch this batch belongs to.</summary>
    public int Epoch { get; internal set; }

    /// <summary>Step (batch number within the epoch, from 0).</summary>
    public int Step { get; internal set; }

    /// <summary>The whole image buffer (capacity samples); the first <see cref="Count"/> are valid.</summary>
    public float[] ImageBuffer { get; }

    /// <summary>The whole label buffer; the first <see cref="Count"/> are valid.</summary>
    public int[] LabelBuffer { get; }

    internal int[] IndexBuffer { get; }

    /// <summary>Images, (N, C, H, W).</summary>
    public Span<float> Images => ImageBuffer.AsSpan(0, Count * SampleShape.Size);

    /// <summary>Labels, (N).</summary>
    public ReadOnlySpan<int> Labels => LabelBuffer.AsSpan(0, Count);

    /// <summary>Dataset indices of the samples, (N), in batch order.</summary>
    public ReadOnlySpan<int> Indices => IndexBuffer.AsSpan(0, Count);

    /// <summary>Shape of <see cref="Images"/>: (N, C, H, W).</summary>
    public (int N, int C, int H, int W) ImagesShape =>
        (Count, SampleShape.Channels, SampleShape.Height, SampleShape.Width);
}
