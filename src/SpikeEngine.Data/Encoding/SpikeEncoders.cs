namespace SpikeEngine.Data;

/// <summary>
/// Turns a batch of images (N, C, H, W) into the time-major network input (T, N, C, H, W).
/// </summary>
public interface ISpikeEncoder
{
    /// <summary>
    /// Encodes <paramref name="batchSize"/> samples of <paramref name="sampleSize"/> floats from
    /// <paramref name="images"/> (N, C, H, W) into <paramref name="output"/> (T, N, C, H, W).
    /// <paramref name="key"/> names the random stream (use the global step) so stochastic
    /// encodings are reproducible; deterministic encoders ignore it.
    /// </summary>
    void Encode(
        ReadOnlySpan<float> images,
        int batchSize,
        int sampleSize,
        int timeSteps,
        Span<float> output,
        long key
    );

    /// <summary>
    /// Shape (C, H, W) of one time step of the network input for samples of shape
    /// <paramref name="sample"/>: the sample itself, except for encoders of samples that already
    /// hold every step (<see cref="FrameEncoder"/>).
    /// </summary>
    SampleShape StepShape(SampleShape sample, int timeSteps) => sample;
}

/// <summary>Direct (analog) encoding: the image repeated at every time step, x_t = x.</summary>
public sealed class DirectEncoder : ISpikeEncoder
{
    public void Encode(
        ReadOnlySpan<float> images,
        int batchSize,
        int sampleSize,
        int timeSteps,
        Span<float> output,
        long key
    )
    {
        int step = SpikeEncoding.Validate(images, batchSize, sampleSize, timeSteps, output);
        ReadOnlySpan<float> source = images[..step];
        for (int t = 0; t < timeSteps; t++)
            source.CopyTo(output.Slice(t * step, step));
    }
}

/// <summary>
/// Poisson (Bernoulli rate) encoding: at each step a pixel spikes (1) with probability equal to
/// its intensity clamped to [0, 1], else 0; so the spike rate over T estimates the intensity.
/// Random numbers come from <see cref="SampleRandom"/> keyed by (seed, key, sample), so the
/// spikes do not depend on thread count or scheduling.
/// </summary>
public sealed class PoissonEncoder : ISpikeEncoder
{
    public PoissonEncoder(ulong seed) => Seed = seed;

    public ulong Seed { get; }

    public void Encode(
        ReadOnlySpan<float> images,
        int batchSize,
        int sampleSize,
        int timeSteps,
        Span<float> output,
        long key
    )
    {
        int step = SpikeEncoding.Validate(images, batchSize, sampleSize, timeSteps, output);
        if (step == 0)
            return;
        unsafe
        {
            fixed (float* src = images)
            fixed (float* dst = output)
            {
                nint s = (nint)src;
                nint d = (nint)dst;
                int work = batchSize;
                ulong seed = Seed;
                Action<int> body = n =>
                {
                    // One stream per (key, sample): independent of which thread runs sample n.
                    var random = new SampleRandom(
                        seed,
                        (ulong)key,
                        (ulong)n,
                        SampleRandom.EncoderPurpose
                    );
                    float* x = (float*)s + (long)n * sampleSize;
                    for (int t = 0; t < timeSteps; t++)
                    {
                        float* y = (float*)d + (long)t * step + (long)n * sampleSize;
                        for (int i = 0; i < sampleSize; i++)
                            y[i] = random.NextSingle() < x[i] ? 1f : 0f;
                    }
                };
                if ((long)step * timeSteps >= 1 << 16 && batchSize > 1)
                    Parallel.For(0, work, body);
                else
                    for (int n = 0; n < work; n++)
                        body(n);
            }
        }
    }
}

internal static class SpikeEncoding
{
    /// <summary>Checks the arguments and returns N*sampleSize, the floats per time step.</summary>
    public static int Validate(
        ReadOnlySpan<float> images,
        int batchSize,
        int sampleSize,
        int timeSteps,
        Span<float> output
    )
    {
        ArgumentOutOfRangeException.ThrowIfNegative(batchSize);
        ArgumentOutOfRangeException.ThrowIfLessThan(sampleSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(timeSteps, 1);
        long step = (long)batchSize * sampleSize;
        if (images.Length < step)
            throw new ArgumentException(
                $"images hold {images.Length} floats; {batchSize} samples of {sampleSize} need {step}",
                nameof(images)
            );
        if (output.Length < step * timeSteps)
            throw new ArgumentException(
                $"output holds {output.Length} floats; (T={timeSteps}, N={batchSize}, {sampleSize}) needs {step * timeSteps}",
                nameof(output)
            );
        return (int)step;
    }
}
