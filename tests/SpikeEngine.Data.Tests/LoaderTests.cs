namespace SpikeEngine.Data.Tests;

public class LoaderTests
{
    /// <summary>Sample i: pixel 0 = i, pixel 1 = a random draw (tests augmentation determinism), label i mod 3.</summary>
    private sealed class IndexDataset(int count, int delayMs = 0, int failAt = -1) : IDataset
    {
        public int Count => count;
        public SampleShape Shape => new(1, 1, 2);
        public int NumClasses => 3;

        public int ReadSample(int index, Span<float> destination, ref SampleRandom random)
        {
            if (delayMs > 0)
                Thread.Sleep(delayMs);
            if (index == failAt)
                throw new DataFormatException("synthetic", $"entry {index}", "cannot be read");
            destination[0] = index;
            destination[1] = random.NextSingle();
            return index % 3;
        }
    }

    private static List<(int[] Indices, float[] Images, int[] Labels)> Collect(
        DataLoader loader,
        int epoch,
        int start = 0
    ) =>
        loader
            .Epoch(epoch, start)
            .Select(b => (b.Indices.ToArray(), b.Images.ToArray(), b.Labels.ToArray()))
            .ToList();

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(3)]
    public void EpochCoversEverySampleOnceInBatches(int workers)
    {
        using var loader = new DataLoader(
            new IndexDataset(23),
            new DataLoaderOptions
            {
                BatchSize = 5,
                Seed = 1,
                Workers = workers,
            }
        );
        Assert.Equal(5, loader.StepsPerEpoch);
        var batches = Collect(loader, 0);
        Assert.Equal([5, 5, 5, 5, 3], batches.Select(b => b.Indices.Length));
        int[] all = batches.SelectMany(b => b.Indices).ToArray();
        Assert.Equal(Enumerable.Range(0, 23), all.Order());
        Assert.NotEqual(Enumerable.Range(0, 23), all); // shuffled
        foreach (var (indices, images, labels) in batches)
        {
            for (int i = 0; i < indices.Length; i++)
            {
                Assert.Equal(indices[i], images[2 * i]);
                Assert.Equal(indices[i] % 3, labels[i]);
            }
        }
    }

    [Fact]
    public void SameSeedSameOrderAndAugmentationWhateverTheWorkers()
    {
        using var a = new DataLoader(
            new IndexDataset(50),
            new DataLoaderOptions
            {
                BatchSize = 8,
                Seed = 7,
                Workers = 0,
            }
        );
        using var b = new DataLoader(
            new IndexDataset(50),
            new DataLoaderOptions
            {
                BatchSize = 8,
                Seed = 7,
                Workers = 4,
                Prefetch = 2,
            }
        );
        var x = Collect(a, 3);
        var y = Collect(b, 3);
        Assert.Equal(x.Count, y.Count);
        for (int i = 0; i < x.Count; i++)
        {
            Assert.Equal(x[i].Indices, y[i].Indices);
            Assert.Equal(x[i].Images, y[i].Images);
        }
    }

    [Fact]
    public void EpochsAndSeedsGiveDifferentOrders()
    {
        int[] e0 = DataLoader.EpochOrder(100, 7, 0, shuffle: true);
        int[] e1 = DataLoader.EpochOrder(100, 7, 1, shuffle: true);
        int[] s8 = DataLoader.EpochOrder(100, 8, 0, shuffle: true);
        Assert.Equal(e0, DataLoader.EpochOrder(100, 7, 0, shuffle: true));
        Assert.NotEqual(e0, e1);
        Assert.NotEqual(e0, s8);
        Assert.Equal(Enumerable.Range(0, 100), e1.Order());
        Assert.Equal(Enumerable.Range(0, 100), DataLoader.EpochOrder(100, 7, 5, shuffle: false));
        // The same sample gets a different augmentation draw in another epoch.
        using var loader = new DataLoader(
            new IndexDataset(10),
            new DataLoaderOptions
            {
                BatchSize = 10,
                Shuffle = false,
                Workers = 1,
            }
        );
        float[] a = Collect(loader, 0)[0].Images;
        float[] b = Collect(loader, 1)[0].Images;
        Assert.Equal(a.Where((_, i) => i % 2 == 0), b.Where((_, i) => i % 2 == 0));
        Assert.NotEqual(a, b);
    }

    [Theory]
    [InlineData(0, false)]
    [InlineData(2, false)]
    [InlineData(2, true)]
    public void ResumeYieldsExactlyTheRemainingBatches(int workers, bool dropLast)
    {
        var options = new DataLoaderOptions
        {
            BatchSize = 6,
            Seed = 11,
            Workers = workers,
            DropLast = dropLast,
        };
        using var loader = new DataLoader(new IndexDataset(40), options);
        var full = Collect(loader, 2);
        Assert.Equal(dropLast ? 6 : 7, full.Count);
        for (int k = 0; k <= full.Count; k++)
        {
            // A fresh loader, as after a restart.
            using var resumed = new DataLoader(new IndexDataset(40), options);
            var rest = Collect(resumed, 2, k);
            Assert.Equal(full.Count - k, rest.Count);
            for (int i = 0; i < rest.Count; i++)
            {
                Assert.Equal(full[k + i].Indices, rest[i].Indices);
                Assert.Equal(full[k + i].Images, rest[i].Images);
                Assert.Equal(full[k + i].Labels, rest[i].Labels);
            }
        }
    }

    [Fact]
    public void StartAtMidEpochAbandonsBatchesInFlight()
    {
        using var loader = new DataLoader(
            new IndexDataset(60, delayMs: 1),
            new DataLoaderOptions
            {
                BatchSize = 4,
                Seed = 3,
                Workers = 2,
                Prefetch = 3,
            }
        );
        loader.StartAt(0);
        Assert.True(loader.TryGetNext(out Batch first));
        Assert.Equal(0, first.Step);
        loader.StartAt(4, 10);
        Assert.True(loader.TryGetNext(out Batch b));
        Assert.Equal((4, 10), (b.Epoch, b.Step));
        int[] order = DataLoader.EpochOrder(60, 3, 4, true);
        Assert.Equal(order[40..44], b.Indices.ToArray());
    }

    [Fact]
    public void DropLastDropsOnlyThePartialBatch()
    {
        using var keep = new DataLoader(
            new IndexDataset(10),
            new DataLoaderOptions { BatchSize = 4, Workers = 1 }
        );
        using var drop = new DataLoader(
            new IndexDataset(10),
            new DataLoaderOptions
            {
                BatchSize = 4,
                Workers = 1,
                DropLast = true,
            }
        );
        Assert.Equal([4, 4, 2], Collect(keep, 0).Select(b => b.Indices.Length));
        Assert.Equal([4, 4], Collect(drop, 0).Select(b => b.Indices.Length));
        using var exact = new DataLoader(
            new IndexDataset(8),
            new DataLoaderOptions
            {
                BatchSize = 4,
                Workers = 1,
                DropLast = true,
            }
        );
        Assert.Equal(2, exact.StepsPerEpoch);
        Assert.Throws<ArgumentException>(() =>
            new DataLoader(
                new IndexDataset(3),
                new DataLoaderOptions { BatchSize = 4, DropLast = true }
            )
        );
    }

    [Fact]
    public void BatchShapesAndBuffersAreContiguous()
    {
        using var loader = new DataLoader(
            new IndexDataset(9),
            new DataLoaderOptions
            {
                BatchSize = 4,
                Workers = 1,
                Shuffle = false,
            }
        );
        loader.StartAt(0, 2);
        Assert.True(loader.TryGetNext(out Batch b));
        Assert.Equal((1, 1, 1, 2), b.ImagesShape);
        Assert.Equal(2, b.Images.Length);
        Assert.Equal(8, b.ImageBuffer.Length);
        Assert.False(loader.TryGetNext(out _));
    }

    [Fact]
    public void ReaderErrorSurfacesAtItsStepAndLoadingContinues()
    {
        using var loader = new DataLoader(
            new IndexDataset(12, failAt: 5),
            new DataLoaderOptions
            {
                BatchSize = 3,
                Workers = 2,
                Shuffle = false,
            }
        );
        loader.StartAt(0);
        Assert.True(loader.TryGetNext(out _));
        var e = Assert.Throws<DataFormatException>(() => loader.TryGetNext(out _));
        Assert.Equal("entry 5", e.Location);
        Assert.True(loader.TryGetNext(out Batch b));
        Assert.Equal(2, b.Step);
    }

    [Fact]
    public void DisposeStopsWorkersEvenMidEpoch()
    {
        var loader = new DataLoader(
            new IndexDataset(1000, delayMs: 2),
            new DataLoaderOptions
            {
                BatchSize = 10,
                Workers = 3,
                Prefetch = 2,
            }
        );
        Assert.Equal(3, loader.LiveWorkers);
        loader.StartAt(0);
        Assert.True(loader.TryGetNext(out _));
        var sw = System.Diagnostics.Stopwatch.StartNew();
        loader.Dispose();
        Assert.Equal(0, loader.LiveWorkers);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(5), $"dispose took {sw.Elapsed}");
        Assert.Throws<ObjectDisposedException>(() => loader.TryGetNext(out _));
        loader.Dispose(); // idempotent
    }

    [Fact]
    public void PrefetchIsBounded()
    {
        var ds = new CountingDataset();
        using var loader = new DataLoader(
            ds,
            new DataLoaderOptions
            {
                BatchSize = 1,
                Workers = 2,
                Prefetch = 3,
                Shuffle = false,
            }
        );
        loader.StartAt(0);
        Thread.Sleep(300);
        // Prefetch ready batches + one more buffer for the consumer; nothing taken yet.
        Assert.InRange(Volatile.Read(ref ds.Reads), 1, 4);
    }

    [Fact]
    public void OptionsAreValidatedWithNames()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() =>
            new DataLoader(new IndexDataset(3), new DataLoaderOptions { BatchSize = 0 })
        );
        Assert.Contains("BatchSize", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() =>
            new DataLoader(
                new IndexDataset(3),
                new DataLoaderOptions { BatchSize = 1, Prefetch = 0 }
            )
        );
        using var loader = new DataLoader(
            new IndexDataset(3),
            new DataLoaderOptions { BatchSize = 1, Workers = 0 }
        );
        Assert.Throws<InvalidOperationException>(() => loader.TryGetNext(out _));
        Assert.Throws<ArgumentOutOfRangeException>(() => loader.StartAt(0, 4));
    }

    private sealed class CountingDataset : IDataset
    {
        public int Reads;
        public int Count => 100;
        public SampleShape Shape => new(1, 1, 1);
        public int NumClasses => 1;

        public int ReadSample(int index, Span<float> destination, ref SampleRandom random)
        {
            Interlocked.Increment(ref Reads);
            destination[0] = index;
            return 0;
        }
    }
}
