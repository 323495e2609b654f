using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace SpikeEngine.Benchmarks;

/// <summary>
/// A column that turns the mean time of each case into a throughput (GFLOP/s, GB/s, images/s):
/// the benchmark class supplies the work per operation for a case.
/// </summary>
public sealed class ThroughputColumn(
    string name,
    Func<BenchmarkCase, double> workPerOp,
    double scale = 1e-9
) : IColumn
{
    public string Id => nameof(ThroughputColumn) + name;
    public string ColumnName => name;
    public bool AlwaysShow => true;
    public ColumnCategory Category => ColumnCategory.Custom;
    public int PriorityInCategory => 0;
    public bool IsNumeric => true;
    public UnitType UnitType => UnitType.Dimensionless;
    public string Legend => $"{name} computed from the mean time";

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase)
    {
        var report = summary[benchmarkCase];
        var mean = report?.ResultStatistics?.Mean;
        if (mean is null or <= 0)
            return "-";
        return (workPerOp(benchmarkCase) / (mean.Value * 1e-9) * scale).ToString("F1");
    }

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style) =>
        GetValue(summary, benchmarkCase);

    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;

    public bool IsAvailable(Summary summary) => true;
}
