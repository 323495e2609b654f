using System.Text.Json;
using System.Text.Json.Serialization;
using SpikeEngine.Training.Checkpoints;

namespace SpikeEngine.Training.Metrics;

/// <summary>One line of <c>metrics.jsonl</c>: the summary of one epoch (1-based).</summary>
public sealed record EpochMetrics
{
    public required int Epoch { get; init; }
    public required double TrainLoss { get; init; }
    public required double TrainAcc { get; init; }
    public required double TestAcc { get; init; }

    /// <summary>Top-5 test accuracy; null when there are 5 classes or fewer.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? TestTop5 { get; init; }
    public required double TestLoss { get; init; }
    public required double ImagesPerS { get; init; }
    public required long PeakBytes { get; init; }
    public required Dictionary<string, double> FiringRates { get; init; }
    public required int SkippedSteps { get; init; }
    public required double Lr { get; init; }
    public required double EpochSeconds { get; init; }
}

/// <summary>Appends and reads <c>metrics.jsonl</c> (one JSON object per line, snake_case keys).</summary>
public static class MetricsLog
{
    public static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        NumberHandling = System
            .Text
            .Json
            .Serialization
            .JsonNumberHandling
            .AllowNamedFloatingPointLiterals,
    };

    /// <summary>Reads every line; a malformed line is reported with its number.</summary>
    public static List<EpochMetrics> Read(string path)
    {
        var list = new List<EpochMetrics>();
        if (!File.Exists(path))
            return list;
        int n = 0;
        foreach (var line in File.ReadAllLines(path))
        {
            n++;
            if (line.Length == 0)
                continue;
            try
            {
                list.Add(
                    JsonSerializer.Deserialize<EpochMetrics>(line, Json)
                        ?? throw new JsonException("null")
                );
            }
            catch (JsonException e)
            {
                throw new Data.DataFormatException(
                    path,
                    $"line {n}",
                    $"not a metrics object: {e.Message}",
                    e
                );
            }
        }
        return list;
    }

    /// <summary>Rewrites the log atomically with <paramref name="entries"/>.</summary>
    public static void Write(string path, IEnumerable<EpochMetrics> entries)
    {
        var text = string.Concat(entries.Select(e => JsonSerializer.Serialize(e, Json) + "\n"));
        AtomicFile.Write(path, System.Text.Encoding.UTF8.GetBytes(text));
    }
}
