namespace SpikeEngine.Data.Tests;

/// <summary>
/// Data-parallel sharding as PyTorch's <c>DistributedSampler</c>: shards are disjoint and cover
/// the epoch, and step k of S shards with batch B visits exactly the samples of step k of one
/// loader with batch S·B.
/// </summary>
public class ShardTests
{
    private sealed class IndexDataset(int count) : IDataset
    {
        public int Count => count;
        public SampleShape Shape => new(1, 1, 1);
        public int NumClasses => 2;

        public int ReadSample(int index, Span<float> destination, ref SampleRandom random)
        {
            destination[0] = index;
            return index % 2;
        }
    }

    private static List<int[]> Batches(
        int count,
        int batch,
        int shard,
        int shards,
        bool pad,
        int epoch
    )
    {
        using var loader = new DataLoader(
            new IndexDataset(count),
            new DataLoaderOptions
            {
                BatchSize = batch,
                Seed = 5,
                Workers = 1,
                ShardIndex = shard,
                ShardCount = shards,
                PadShards = pad,
            }
        );
        return [.. loader.Epoch(epoch).Select(b => b.Indices.ToArray())];
    }

    [Theory]
    [InlineData(64, 8, 2)]
    [InlineData(60, 4, 3)]
    [InlineData(1000, 16, 4)]
    public void EachGlobalStepVisitsTheSamplesOfOneProcessWithTheWholeBatch(
        int count,
        int batch,
        int shards
    )
    {
        for (int epoch = 0; epoch < 2; epoch++)
        {
            var whole = Batches(count, batch * shards, 0, 1, pad: true, epoch);
            var parts = Enumerable
                .Range(0, shards)
                .Select(r => Batches(count, batch, r, shards, pad: true, epoch))
                .ToList();
            Assert.All(parts, p => Assert.Equal(whole.Count, p.Count));
            for (int k = 0; k < whole.Count; k++)
            {
                var union = parts.SelectMany(p => p[k]).Order().ToArray();
                Assert.Equal(whole[k].Order().ToArray(), union);
            }
            // Disjoint and covering: every sample exactly once over the shards.
            var all = parts.SelectMany(p => p.SelectMany(b => b)).Order().ToArray();
            Assert.Equal(Enumerable.Range(0, count), all);
        }
    }

    [Fact]
    public void PaddedShardsHaveEqualLengthAndRepeatTheFirstPositions()
    {
        // 10 samples over 4 shards: the order is extended by its first 2 positions to 12.
        var order = DataLoader.EpochOrder(10, seed: 3, epoch: 0, shuffle: true);
        var shards = Enumerable
            .Range(0, 4)
            .Select(r => DataLoader.Shard(order, r, 4, pad: true))
            .ToList();
        Assert.All(shards, s => Assert.Equal(3, s.Length));
        int[] expected = [.. order, order[0], order[1]];
        for (int r = 0; r < 4; r++)
            Assert.Equal([expected[r], expected[r + 4], expected[r + 8]], shards[r]);
        // Every rank has the same number of steps (each step is a collective).
        Assert.All(
            Enumerable.Range(0, 4),
            r => Assert.Equal(2, Batches(10, 2, r, 4, pad: true, 0).Count)
        );
    }

    [Fact]
    public void UnpaddedShardsVisitEachSampleOnce()
    {
        var parts = Enumerable
            .Range(0, 3)
            .Select(r => Batches(10, 4, r, 3, pad: false, 0))
            .ToList();
        Assert.Equal([4, 3, 3], parts.Select(p => p.Sum(b => b.Length)));
        Assert.Equal(Enumerable.Range(0, 10), parts.SelectMany(p => p.SelectMany(b => b)).Order());
    }

    [Theory]
    [InlineData(-1, 2)]
    [InlineData(2, 2)]
    [InlineData(0, 0)]
    public void BadShardIsRefusedNamingIt(int index, int count)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() =>
            new DataLoader(
                new IndexDataset(10),
                new DataLoaderOptions
                {
                    BatchSize = 2,
                    ShardIndex = index,
                    ShardCount = count,
                }
            )
        );
        Assert.Contains($"shard {index} of {count}", e.Message);
    }
}
