namespace SpikeEngine.Data;

/// <summary>
/// A labelled image dataset of fixed sample shape. Samples are read as floats, channel-major
/// (C, H, W), in [0, 1] for the raw readers (transforms such as <see cref="Normalize"/> change the
/// range). Implementations must be safe to call from several threads at once: the loader reads
/// samples on its worker threads.
/// </summary>
public interface IDataset
{
    /// <summary>Number of samples.</summary>
    int Count { get; }

    /// <summary>Shape (C, H, W) of every sample written by <see cref="ReadSample(int, Span{float}, ref SampleRandom)"/>.</summary>
    SampleShape Shape { get; }

    /// <summary>Number of classes; every label is in [0, NumClasses).</summary>
    int NumClasses { get; }

    /// <summary>
    /// Writes sample <paramref name="index"/> into <paramref name="destination"/> (length at least
    /// <c>Shape.Size</c>), shape (C, H, W), and returns its label. Random augmentation draws from
    /// <paramref name="random"/>, which the loader derives from (seed, epoch, index) so a sample is
    /// the same whichever thread reads it and whenever a run is resumed.
    /// </summary>
    int ReadSample(int index, Span<float> destination, ref SampleRandom random);
}
