namespace SpikeEngine.Data.Tests;

public class EncoderTests
{
    [Fact]
    public void DirectRepeatsTheBatchOverTime()
    {
        float[] images = [0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f]; // N = 2, sample size 3
        var output = new float[3 * 6];
        new DirectEncoder().Encode(images, 2, 3, 3, output, key: 0);
        for (int t = 0; t < 3; t++)
            Assert.Equal(images, output[(t * 6)..((t + 1) * 6)]);
        Assert.Throws<ArgumentException>(() =>
            new DirectEncoder().Encode(images, 2, 3, 4, output, 0)
        );
    }

    [Fact]
    public void PoissonRateMatchesIntensity()
    {
        // N = 4 samples, 2500 pixels each of intensity p, T = 20: 50,000 Bernoulli draws per p.
        float[] intensities = [0f, 0.1f, 0.5f, 0.9f];
        const int pixels = 2500;
        const int T = 20;
        var images = new float[4 * pixels];
        for (int n = 0; n < 4; n++)
            images.AsSpan(n * pixels, pixels).Fill(intensities[n]);
        var output = new float[T * images.Length];
        new PoissonEncoder(123).Encode(images, 4, pixels, T, output, key: 17);
        for (int n = 0; n < 4; n++)
        {
            double sum = 0;
            for (int t = 0; t < T; t++)
            for (int i = 0; i < pixels; i++)
            {
                float s = output[(t * 4 + n) * pixels + i];
                Assert.True(s == 0f || s == 1f);
                sum += s;
            }
            double rate = sum / (T * pixels);
            double p = intensities[n];
            // Tolerance: 5 standard deviations of a mean of 50,000 Bernoulli(p), at least 1e-9.
            double tolerance = Math.Max(1e-9, 5 * Math.Sqrt(p * (1 - p) / (T * pixels)));
            Assert.True(
                Math.Abs(rate - p) <= tolerance,
                $"intensity {p}: rate {rate}, tolerance {tolerance}"
            );
        }
    }

    [Fact]
    public void PoissonClampsAndIsSeeded()
    {
        float[] images = [-0.5f, 1f, 1.7f, 0.5f];
        var a = new float[8 * 4];
        var b = new float[8 * 4];
        var c = new float[8 * 4];
        var enc = new PoissonEncoder(5);
        enc.Encode(images, 1, 4, 8, a, key: 3);
        enc.Encode(images, 1, 4, 8, b, key: 3);
        new PoissonEncoder(5).Encode(images, 1, 4, 8, c, key: 4);
        Assert.Equal(a, b);
        for (int t = 0; t < 8; t++)
        {
            Assert.Equal(0f, a[t * 4 + 0]);
            Assert.Equal(1f, a[t * 4 + 1]);
            Assert.Equal(1f, a[t * 4 + 2]);
        }
        Assert.NotEqual(
            a.Select((v, i) => i % 4 == 3 ? v : 0),
            c.Select((v, i) => i % 4 == 3 ? v : 0)
        );
    }

    [Fact]
    public void PoissonDoesNotDependOnParallelSplit()
    {
        // Large enough to take the parallel path; each sample must equal its single-sample encoding.
        const int n = 16,
            size = 1024,
            T = 8;
        var images = new float[n * size];
        var r = new Random(1);
        for (int i = 0; i < images.Length; i++)
            images[i] = (float)r.NextDouble();
        var all = new float[T * n * size];
        var enc = new PoissonEncoder(77);
        enc.Encode(images, n, size, T, all, key: 9);
        var again = new float[all.Length];
        enc.Encode(images, n, size, T, again, key: 9);
        Assert.Equal(all, again);
    }
}
