using SpikeEngine.Data;

namespace SpikeEngine.Training.Tests;

/// <summary>A tiny deterministic dataset: class c lights up quadrant c of an 8×8 image, plus noise.</summary>
internal sealed class SyntheticDataset(int count, int seed, int classes = 4) : IDataset
{
    public int Count => count;
    public SampleShape Shape => new(1, 8, 8);
    public int NumClasses => classes;

    public int ReadSample(int index, Span<float> destination, ref SampleRandom random)
    {
        int label = (index * 7 + seed) % classes;
        var rng = new Random(index * 31 + seed);
        for (int y = 0; y < 8; y++)
        {
            for (int x = 0; x < 8; x++)
            {
                int q = (y / 4) * 2 + x / 4;
                destination[y * 8 + x] =
                    (q == label % 4 ? 1.5f : 0f) + (float)rng.NextDouble() * 0.8f;
            }
        }
        return label;
    }
}

internal static class Temp
{
    public static string Dir()
    {
        var d = Path.Combine(Path.GetTempPath(), "spike-train-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(d);
        return d;
    }
}
