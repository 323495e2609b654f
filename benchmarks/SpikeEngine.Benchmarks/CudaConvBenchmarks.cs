using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Running;
using SpikeEngine.Cuda;
using SpikeEngine.Cuda.Interop;

namespace SpikeEngine.Benchmarks;

/// <summary>cuDNN convolution forward and both backward passes at ResNet shapes (needs a GPU).</summary>
[Config(typeof(CudaConvConfig))]
public class CudaConvBenchmarks
{
    private CudaBackend _be = null!;
    private Tensor _x = null!,
        _w = null!,
        _y = null!,
        _gx = null!,
        _gw = null!;
    private ConvGeometry _g;

    [Params("cifar-64", "imagenet-256")]
    public string Shape { get; set; } = "cifar-64";

    [GlobalSetup]
    public void Setup()
    {
        if (!CudaRuntime.IsAvailable || !CudaLibraries.IsLoadable(CudaLibrary.Cudnn))
            throw new InvalidOperationException(
                $"CudaConvBenchmarks need a CUDA GPU and cuDNN: {CudaRuntime.UnavailableReason ?? "cuDNN not found"}"
            );
        CudaBackend.Register();
        _be = CudaBackend.For(0);
        _g =
            Shape == "cifar-64"
                ? new ConvGeometry(256, 64, 32, 32, 64, 3, 3, 1, 1, 1, 1, 1, 1)
                : new ConvGeometry(128, 256, 14, 14, 256, 3, 3, 1, 1, 1, 1, 1, 1);
        var dev = _be.Device;
        _x = Tensor.Normal([_g.N, _g.C, _g.H, _g.W], seed: 1, device: dev);
        _w = Tensor.Normal([_g.K, _g.C, _g.KH, _g.KW], seed: 2, device: dev);
        _y = Tensor.Empty([_g.N, _g.K, _g.OutH, _g.OutW], dev);
        _gx = Tensor.Empty([_g.N, _g.C, _g.H, _g.W], dev);
        _gw = Tensor.Empty([_g.K, _g.C, _g.KH, _g.KW], dev);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (var t in new[] { _x, _w, _y, _gx, _gw })
            t?.Dispose();
    }

    [Benchmark]
    public void Forward()
    {
        _be.Conv2dForward(_x, _w, _y, _g);
        _be.Synchronize();
    }

    [Benchmark]
    public void BackwardDataAndFilter()
    {
        _be.Conv2dBackwardData(_y, _w, _gx, _g);
        _be.Conv2dBackwardFilter(_x, _y, _gw, _g);
        _be.Synchronize();
    }

    private sealed class CudaConvConfig : ManualConfig
    {
        public CudaConvConfig()
        {
            AddJob(BenchJobs.Short);
            AddColumn(
                new ThroughputColumn(
                    "GFLOP/s",
                    c =>
                    {
                        var cifar = (string)c.Parameters["Shape"] == "cifar-64";
                        var macs = cifar
                            ? new ConvGeometry(256, 64, 32, 32, 64, 3, 3, 1, 1, 1, 1, 1, 1).Macs
                            : new ConvGeometry(128, 256, 14, 14, 256, 3, 3, 1, 1, 1, 1, 1, 1).Macs;
                        return 2.0
                            * macs
                            * (c.Descriptor.WorkloadMethod.Name == nameof(Forward) ? 1 : 2);
                    }
                )
            );
        }
    }
}
