using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using SpikeEngine.Cpu;

namespace SpikeEngine.Benchmarks;

/// <summary>
/// Event-driven vs dense conv2d on spike inputs (forward + weight gradient) at several firing
/// rates: input 32×64×32×32 binary, 64 output channels, 3×3, stride 1, padding 1. The dense
/// GFLOP/s column counts the dense work, so the event-driven rows read as "effective" GFLOP/s.
/// </summary>
[Config(typeof(Config))]
public class SpikeConvBenchmarks
{
    private const double DenseFlops = 2.0 * 2 * 32 * 64 * 32 * 32 * 64 * 9;

    private sealed class Config : ManualConfig
    {
        public Config()
        {
            AddJob(BenchJobs.Short);
            AddColumn(new ThroughputColumn("eff. GFLOP/s", _ => DenseFlops));
        }
    }

    private Tensor _x = null!;
    private Tensor _w = null!;
    private Tensor _gy = null!;
    private double _saved;

    [Params(0.05, 0.1, 0.2, 0.3, 0.5)]
    public double Density { get; set; }

    [Params(true, false)]
    public bool EventDriven { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _saved = CpuBackend.EventDrivenDensityThreshold;
        CpuBackend.EventDrivenDensityThreshold = EventDriven ? 2 : -1;
        using var u = Tensor.Uniform([32, 64, 32, 32], seed: 1);
        _x = ((float)Density - u).Heaviside();
        _w = Tensor.KaimingNormalFanOut([64, 64, 3, 3], seed: 2, requiresGrad: true);
        _gy = Tensor.Normal([32, 64, 32, 32], seed: 3);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        CpuBackend.EventDrivenDensityThreshold = _saved;
        _x.Dispose();
        _w.Dispose();
        _gy.Dispose();
    }

    [Benchmark]
    public float ForwardAndWeightGradient()
    {
        using var scope = TensorScope.Begin();
        var y = Ops.Conv2d(_x, _w, null, 1, 1);
        y.Backward(_gy);
        _w.Grad!.Dispose();
        _w.Grad = null;
        return y.Numel;
    }
}
