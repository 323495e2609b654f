namespace SpikeEngine.Data;

/// <summary>Mirrors the image left-to-right with probability <c>Probability</c>.</summary>
public sealed class RandomHorizontalFlip : ITransform
{
    public RandomHorizontalFlip(double probability = 0.5)
    {
        if (!(probability >= 0 && probability <= 1))
            throw new ArgumentOutOfRangeException(
                nameof(probability),
                probability,
                "RandomHorizontalFlip: probability must be in [0, 1]"
            );
        Probability = probability;
    }

    public double Probability { get; }

    public SampleShape OutputShape(SampleShape input) => input;

    public void Apply(
        ReadOnlySpan<float> source,
        SampleShape shape,
        Span<float> destination,
        ref SampleRandom random
    )
    {
        int size = shape.Size;
        // Always draw, so later transforms see the same stream whatever the probability.
        bool flip = random.NextDouble() < Probability;
        source[..size].CopyTo(destination);
        if (!flip)
            return;
        int rows = shape.Channels * shape.Height;
        for (int r = 0; r < rows; r++)
            destination.Slice(r * shape.Width, shape.Width).Reverse();
    }
}
