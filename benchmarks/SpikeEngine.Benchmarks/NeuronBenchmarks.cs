using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using SpikeEngine.Bench;
using SpikeEngine.Nn;

namespace SpikeEngine.Benchmarks;

/// <summary>
/// Fused LIF scan on the CPU over [T, 2^22] against a parallel copy of a [T, 2^22] float tensor
/// measured in the same run. Columns: ns per neuron-step and effective GB/s (forward moves 12 B
/// per neuron-step, forward+backward 24 B, the copy 8 B per float).
/// </summary>
[Config(typeof(NeuronConfig))]
public class NeuronBenchmarks
{
    public const int Neurons = 1 << 22;

    private Tensor _x = null!,
        _spikes = null!,
        _h = null!,
        _vLast = null!,
        _gS = null!,
        _gv = null!,
        _gx = null!,
        _copy = null!;
    private NeuronSpec _spec;
    private IBackend _be = null!;

    [Params(1, 4, 8)]
    public int T { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _be = Backends.For(Device.Cpu);
        _spec = new LifNode().Spec;
        _x = Tensor.Normal([T, Neurons], 0.6f, 1f, seed: 1);
        _spikes = Tensor.Zeros([T, Neurons]);
        _h = Tensor.Zeros([T, Neurons]);
        _vLast = Tensor.Zeros([Neurons]);
        _gS = Tensor.Normal([T, Neurons], 0f, 1f, seed: 2);
        _gv = Tensor.Ones([Neurons]);
        _gx = Tensor.Zeros([T, Neurons]);
        _copy = Tensor.Zeros([T, Neurons]);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (var t in new[] { _x, _spikes, _h, _vLast, _gS, _gv, _gx, _copy })
            t.Dispose();
    }

    [Benchmark(Baseline = true)]
    public void Copy() => _copy.CopyFrom_(_x);

    [Benchmark]
    public void Forward() => _be.NeuronForward(_spec, _x, null, null, _spikes, _h, _vLast, null);

    [Benchmark]
    public void ForwardBackward()
    {
        _be.NeuronForward(_spec, _x, null, null, _spikes, _h, _vLast, null);
        _be.NeuronBackward(_spec, _h, null, null, _gS, _gv, _gx, null, null);
    }

    private sealed class NeuronConfig : ManualConfig
    {
        public NeuronConfig()
        {
            AddColumn(new PerNeuronStepColumn(gbps: false));
            AddColumn(new PerNeuronStepColumn(gbps: true));
        }
    }

    /// <summary>ns per neuron-step or effective GB/s, from the mean time and the bytes each method moves.</summary>
    private sealed class PerNeuronStepColumn(bool gbps) : IColumn
    {
        public string Id => gbps ? "GBps" : "NsPerNeuronStep";
        public string ColumnName => gbps ? "GB/s" : "ns/neuron-step";
        public bool AlwaysShow => true;
        public ColumnCategory Category => ColumnCategory.Custom;
        public int PriorityInCategory => gbps ? 1 : 0;
        public bool IsNumeric => true;
        public UnitType UnitType => UnitType.Dimensionless;
        public string Legend =>
            gbps
                ? "Effective bandwidth: bytes moved (copy 8, forward 12, forward+backward 24 per neuron-step) / time"
                : "Mean time per neuron-step (T x 2^22 neuron-steps per call)";

        public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;

        public bool IsAvailable(Summary summary) => true;

        public string GetValue(Summary summary, BenchmarkCase benchmarkCase) =>
            GetValue(summary, benchmarkCase, summary.Style);

        public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
        {
            var stats = summary[benchmarkCase]?.ResultStatistics;
            if (stats is null)
                return "NA";
            var t = (int)benchmarkCase.Parameters["T"];
            var ns = stats.Mean / ((double)t * Neurons);
            var bytes = benchmarkCase.Descriptor.WorkloadMethod.Name switch
            {
                nameof(Copy) => NeuronBench.CopyBytes,
                nameof(Forward) => NeuronBench.ForwardBytes,
                _ => NeuronBench.ForwardBytes + NeuronBench.BackwardBytes,
            };
            return gbps ? (bytes / ns).ToString("F1") : ns.ToString("F3");
        }
    }
}
