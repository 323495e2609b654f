namespace SpikeEngine.Data;

/// <summary>
/// A per-sample transform of a (C, H, W) float image. One call processes a whole image (no
/// per-pixel virtual dispatch). Random transforms draw only from the <see cref="SampleRandom"/>
/// they are given, so a sample's augmentation is fixed by (seed, epoch, index).
/// </summary>
public interface ITransform
{
    /// <summary>The shape this transform produces from <paramref name="input"/>; throws <see cref="ArgumentException"/> if it cannot apply.</summary>
    SampleShape OutputShape(SampleShape input);

    /// <summary>
    /// Writes the transformed <paramref name="source"/> (shape <paramref name="shape"/>) into
    /// <paramref name="destination"/> (shape <c>OutputShape(shape)</c>). The two spans must not overlap.
    /// </summary>
    void Apply(
        ReadOnlySpan<float> source,
        SampleShape shape,
        Span<float> destination,
        ref SampleRandom random
    );
}
