namespace SpikeEngine.Data.Tests;

public class TransformTests
{
    /// <summary>A (C, H, W) image whose value at (c, y, x) is 100c + 10y + x.</summary>
    private static float[] Ramp(SampleShape s)
    {
        var x = new float[s.Size];
        for (int c = 0; c < s.Channels; c++)
        for (int y = 0; y < s.Height; y++)
        for (int i = 0; i < s.Width; i++)
            x[(c * s.Height + y) * s.Width + i] = 100 * c + 10 * y + i;
        return x;
    }

    [Fact]
    public void NormalizeIsPerChannel()
    {
        var shape = new SampleShape(2, 1, 2);
        float[] x = [1, 3, 10, 20];
        var y = new float[4];
        var r = new SampleRandom(0);
        new Normalize([1f, 10f], [2f, 5f]).Apply(x, shape, y, ref r);
        Assert.Equal([0f, 1f, 0f, 2f], y);
        Assert.Throws<ArgumentException>(() => new Normalize([0f], [1f]).OutputShape(shape));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Normalize([0f], [0f]));
    }

    [Fact]
    public void RandomCropWithPaddingMatchesHandComputedWindow()
    {
        var shape = new SampleShape(2, 4, 5);
        float[] x = Ramp(shape);
        var crop = new RandomCrop(3, 4, padding: 2, fill: -1f);
        var seen = new HashSet<(int, int)>();
        for (int k = 0; k < 400; k++)
        {
            var r = new SampleRandom(7, (ulong)k);
            var probe = r; // the crop draws top, then left
            int top = probe.NextInt(4 + 4 - 3 + 1) - 2;
            int left = probe.NextInt(5 + 4 - 4 + 1) - 2;
            seen.Add((top, left));
            var y = new float[2 * 3 * 4];
            crop.Apply(x, shape, y, ref r);
            for (int c = 0; c < 2; c++)
            for (int i = 0; i < 3; i++)
            for (int j = 0; j < 4; j++)
            {
                int sy = top + i;
                int sx = left + j;
                float expected =
                    sy < 0 || sy >= 4 || sx < 0 || sx >= 5 ? -1f : 100 * c + 10 * sy + sx;
                Assert.Equal(expected, y[(c * 3 + i) * 4 + j]);
            }
        }
        Assert.Equal(6 * 6, seen.Count); // every offset in [-2, 3] x [-2, 3] occurs
    }

    [Fact]
    public void CenterCropTakesTheMiddle()
    {
        var shape = new SampleShape(1, 5, 6);
        var y = new float[6];
        var r = new SampleRandom(0);
        new CenterCrop(2, 3).Apply(Ramp(shape), shape, y, ref r);
        Assert.Equal([11f, 12f, 13f, 21f, 22f, 23f], y);
    }

    [Fact]
    public void HorizontalFlipMirrorsEveryRow()
    {
        var shape = new SampleShape(2, 2, 3);
        float[] x = Ramp(shape);
        var y = new float[12];
        var r = new SampleRandom(0);
        new RandomHorizontalFlip(1.0).Apply(x, shape, y, ref r);
        Assert.Equal([2f, 1f, 0f, 12f, 11f, 10f, 102f, 101f, 100f, 112f, 111f, 110f], y);
        new RandomHorizontalFlip(0.0).Apply(x, shape, y, ref r);
        Assert.Equal(x, y);
        int flips = 0;
        for (int k = 0; k < 4000; k++)
        {
            var rk = new SampleRandom(1, (ulong)k);
            new RandomHorizontalFlip().Apply(x, shape, y, ref rk);
            flips += y[0] == 2f ? 1 : 0;
        }
        // Binomial(4000, 0.5): sd = 31.6; 5 sd bound.
        Assert.InRange(flips, 2000 - 160, 2000 + 160);
    }

    [Fact]
    public void ComposeChainsShapesAndIsDeterministicPerSample()
    {
        var shape = new SampleShape(3, 8, 8);
        var pipeline = new Compose(
            new RandomCrop(6, padding: 1),
            new RandomHorizontalFlip(),
            new Normalize([0f, 1f, 2f], [1f, 1f, 1f])
        );
        Assert.Equal(new SampleShape(3, 6, 6), pipeline.OutputShape(shape));
        float[] x = Ramp(shape);
        float[] Run(int epoch, int index)
        {
            var y = new float[3 * 36];
            var r = SampleRandom.ForSample(42, epoch, index);
            pipeline.Apply(x, shape, y, ref r);
            return y;
        }
        Assert.Equal(Run(1, 5), Run(1, 5));
        int differing = Enumerable.Range(0, 20).Count(i => !Run(1, i).SequenceEqual(Run(2, i)));
        Assert.True(differing >= 10, $"only {differing} of 20 samples changed between epochs");
        // Nested compose and a transformed dataset give the same as the flat pipeline.
        var nested = new Compose(
            new Compose(new RandomCrop(6, padding: 1), new RandomHorizontalFlip()),
            new Normalize([0f, 1f, 2f], [1f, 1f, 1f])
        );
        var yn = new float[3 * 36];
        var rn = SampleRandom.ForSample(42, 1, 5);
        nested.Apply(x, shape, yn, ref rn);
        Assert.Equal(Run(1, 5), yn);
    }

    [Fact]
    public void TransformedDatasetAppliesThePipeline()
    {
        var shape = new SampleShape(1, 2, 2);
        var ds = new ByteImageDataset([0, 51, 102, 255, 255, 255, 0, 0], [1, 0], shape, 2);
        IDataset t = ds.WithTransforms(
            new RandomHorizontalFlip(1.0),
            new Normalize([0.5f], [0.5f])
        );
        var y = new float[4];
        Assert.Equal(1, t.ReadSample(0, y));
        Assert.Equal([51 / 127.5f - 1, -1f, 1f, 102 / 127.5f - 1], y, new Tolerance(1e-6f));
        Assert.Equal(shape, t.Shape);
        Assert.Equal(2, t.NumClasses);
    }

    private sealed class Tolerance(float eps) : IEqualityComparer<float>
    {
        public bool Equals(float a, float b) => Math.Abs(a - b) <= eps;

        public int GetHashCode(float obj) => 0;
    }
}
