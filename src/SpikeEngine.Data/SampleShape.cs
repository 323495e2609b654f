namespace SpikeEngine.Data;

/// <summary>The shape of one sample image, channel-major: (C, H, W).</summary>
public readonly record struct SampleShape(int Channels, int Height, int Width)
{
    /// <summary>Number of floats in one sample: C*H*W.</summary>
    public int Size => checked(Channels * Height * Width);

    /// <summary>Pixels per channel plane: H*W.</summary>
    public int PlaneSize => checked(Height * Width);

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> unless every extent is positive.</summary>
    public SampleShape Validated(string argumentName)
    {
        if (Channels <= 0 || Height <= 0 || Width <= 0)
            throw new ArgumentOutOfRangeException(
                argumentName,
                this,
                $"{argumentName}: every extent of a sample shape must be positive, got {this}"
            );
        return this;
    }

    public override string ToString() => $"({Channels}, {Height}, {Width})";
}
