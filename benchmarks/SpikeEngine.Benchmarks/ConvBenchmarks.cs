using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Running;
using SpikeEngine.Cpu;

namespace SpikeEngine.Benchmarks;

/// <summary>
/// CPU conv2d forward and forward+backward for input 32×64×32×32, 64 output channels, 3×3,
/// stride 1, padding 1 — on oneDNN, on the engine's Winograd F(4 × 4, 3 × 3) path, and on im2col
/// with OpenBLAS and with the managed GEMM. Each path is forced (no measured choice between them).
/// </summary>
[Config(typeof(Config))]
public class ConvBenchmarks
{
    private const int N = 32,
        C = 64,
        H = 32,
        K = 64;

    // 2·N·K·OH·OW·C·9 multiply-adds forward; backward data and filter cost the same again each.
    private const double ForwardFlops = 2.0 * N * K * H * H * C * 9;

    private sealed class Config : ManualConfig
    {
        public Config()
        {
            AddJob(BenchJobs.Short);
            AddColumn(
                new ThroughputColumn(
                    "GFLOP/s",
                    c =>
                        c.Descriptor.WorkloadMethod.Name == nameof(Forward)
                            ? ForwardFlops
                            : 3 * ForwardFlops
                )
            );
        }
    }

    private Tensor _x = null!;
    private Tensor _w = null!;
    private bool? _winogradBefore;

    [Params("oneDNN", "Winograd", "OpenBLAS", "managed")]
    public string Path { get; set; } = "";

    [GlobalSetup]
    public void Setup()
    {
        var blas = Path == "OpenBLAS";
        if (blas && !Blas.IsAvailable)
            throw new InvalidOperationException(
                "ConvBenchmarks: BLAS requested but " + Blas.Status
            );
        var winograd = Path == "Winograd";
        Blas.Enabled = blas || ((Path == "oneDNN" || winograd) && Blas.IsAvailable);
        CpuBackend.UseOneDnn = Path == "oneDNN";
        _winogradBefore = CpuBackend.WinogradConvolution;
        CpuBackend.WinogradConvolution = winograd;
        _x = Tensor.Normal([N, C, H, H], seed: 1, requiresGrad: true);
        _w = Tensor.KaimingNormalFanOut([K, C, 3, 3], seed: 2);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _x.Dispose();
        _w.Dispose();
        Blas.Enabled = Blas.IsAvailable;
        CpuBackend.UseOneDnn = CpuBackend.OneDnnAvailable;
        CpuBackend.WinogradConvolution = _winogradBefore;
    }

    [Benchmark]
    public float Forward()
    {
        using var scope = TensorScope.Begin();
        using var noGrad = GradMode.NoGrad();
        return Ops.Conv2d(_x, _w, null, 1, 1).Numel;
    }

    [Benchmark]
    public float ForwardBackward()
    {
        using var scope = TensorScope.Begin();
        var y = Ops.Conv2d(_x, _w, null, 1, 1);
        using var g = Tensor.Ones(y.Shape.ToArray());
        y.Backward(g);
        _x.Grad?.Dispose();
        _x.Grad = null;
        _w.Grad?.Dispose();
        _w.Grad = null;
        return y.Numel;
    }
}
