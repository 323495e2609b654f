using System.Globalization;

namespace SpikeEngine.Data;

/// <summary>A crop window of an event sensor: origin (<see cref="Left"/>, <see cref="Top"/>) and size.</summary>
public readonly record struct CropWindow(int Left, int Top, int Width, int Height)
{
    /// <summary>Parses <c>LEFT,TOP,WIDTH,HEIGHT</c> (pixels).</summary>
    public static CropWindow Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var cells = text.Split(',');
        var v = new int[4];
        if (
            cells.Length != 4
            || !cells
                .Select((c, i) => int.TryParse(c.Trim(), CultureInfo.InvariantCulture, out v[i]))
                .All(ok => ok)
        )
            throw new FormatException(
                $"crop window: expected LEFT,TOP,WIDTH,HEIGHT (four integers), got '{text}'"
            );
        return new CropWindow(v[0], v[1], v[2], v[3]);
    }

    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{Left},{Top},{Width},{Height}");
}

/// <summary>
/// The event transforms applied to every recording (or segment) of an event dataset before
/// frame integration, in this order: <see cref="EventStream.Denoise"/> (window
/// <see cref="Denoise"/> µs, at the sensor's resolution; 0 = off), <see cref="EventStream.Crop"/>
/// (<see cref="Crop"/>), <see cref="EventStream.Downsample"/> (factor <see cref="Downsample"/>;
/// 1 = off) and <see cref="EventStream.TimeJitter"/> (std <see cref="Jitter"/> µs; 0 = off).
/// The first three are deterministic and part of the frame cache's key; jitter is a random
/// augmentation drawn per sample and epoch, so jittered frames are integrated on every read and
/// never cached.
/// </summary>
public sealed record EventTransform(
    long Denoise = 0,
    CropWindow? Crop = null,
    int Downsample = 1,
    double Jitter = 0
)
{
    /// <summary>True when the transform changes nothing.</summary>
    public bool IsIdentity => Denoise == 0 && Crop is null && Downsample == 1 && Jitter == 0;

    /// <summary>The deterministic settings, as they key the frame cache.</summary>
    public string CacheKey =>
        string.Create(
            CultureInfo.InvariantCulture,
            $"denoise={Denoise}|crop={Crop?.ToString() ?? "none"}|downsample={Downsample}"
        );

    /// <summary>
    /// Checks the settings against a <paramref name="width"/>×<paramref name="height"/> sensor and
    /// returns the sensor size after the transform; throws naming the setting and values.
    /// </summary>
    public (int Width, int Height) Output(int width, int height)
    {
        if (Denoise < 0)
            throw new ArgumentException(
                $"event transform: denoise window must be ≥ 0 µs, got {Denoise}"
            );
        if (Downsample < 1)
            throw new ArgumentException(
                $"event transform: downsample factor must be at least 1, got {Downsample}"
            );
        if (!(Jitter >= 0) || !double.IsFinite(Jitter))
            throw new ArgumentException(
                $"event transform: jitter std must be ≥ 0 µs, got {Jitter}"
            );
        if (Crop is { } c)
        {
            if (
                c.Left < 0
                || c.Top < 0
                || c.Width <= 0
                || c.Height <= 0
                || c.Left + c.Width > width
                || c.Top + c.Height > height
            )
                throw new ArgumentException(
                    $"event transform: crop window {c} (left, top, width, height) is not inside the {width}×{height} sensor"
                );
            (width, height) = (c.Width, c.Height);
        }
        return ((width + Downsample - 1) / Downsample, (height + Downsample - 1) / Downsample);
    }

    /// <summary>The transformed events; <paramref name="random"/> draws the jitter.</summary>
    public EventStream Apply(EventStream events, ref SampleRandom random)
    {
        ArgumentNullException.ThrowIfNull(events);
        if (Denoise > 0)
            events = events.Denoise(Denoise);
        if (Crop is { } c)
            events = events.Crop(c.Left, c.Top, c.Width, c.Height);
        if (Downsample > 1)
            events = events.Downsample(Downsample);
        if (Jitter > 0)
            events = events.TimeJitter(Jitter, ref random);
        return events;
    }
}
