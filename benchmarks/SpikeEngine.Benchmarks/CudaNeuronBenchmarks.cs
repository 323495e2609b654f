using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Running;
using SpikeEngine.Cuda;
using SpikeEngine.Cuda.Interop;
using SpikeEngine.Nn;

namespace SpikeEngine.Benchmarks;

/// <summary>
/// The fused LIF scan on the GPU over [T, 2^24] with fp32 or bf16 saved state, against a
/// device-to-device copy of a [T, 2^24] float tensor in the same run. Each method synchronises
/// the device, so the time is the kernels'. Without a GPU the setup throws and says why.
/// The GPU bundle runs the same measurement without BenchmarkDotNet (KernelBenchmarkRun).
/// </summary>
[Config(typeof(CudaNeuronConfig))]
public class CudaNeuronBenchmarks
{
    public const int Neurons = 1 << 24;

    private CudaBackend _be = null!;
    private NeuronSpec _spec;
    private Tensor _x = null!,
        _spikes = null!,
        _h = null!,
        _vLast = null!,
        _gS = null!,
        _gx = null!,
        _copy = null!;

    [Params(1, 2, 4, 8, 16)]
    public int T { get; set; }

    [Params(DType.Float32, DType.BFloat16)]
    public DType State { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        if (!CudaRuntime.IsAvailable)
            throw new InvalidOperationException(
                $"CudaNeuronBenchmarks need a CUDA GPU: {CudaRuntime.UnavailableReason}"
            );
        CudaBackend.Register();
        _be = CudaBackend.For(0);
        var dev = _be.Device;
        _spec = new LifNode().Spec;
        _x = Tensor.Normal([T, Neurons], 0.6f, 1f, seed: 1, device: dev);
        _spikes = Tensor.Empty([T, Neurons], dev);
        _h = Tensor.Empty([T, Neurons], dev, State);
        _vLast = Tensor.Empty([Neurons], dev);
        _gS = Tensor.Normal([T, Neurons], 0f, 1f, seed: 2, device: dev);
        _gx = Tensor.Empty([T, Neurons], dev);
        _copy = Tensor.Empty([T, Neurons], dev);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (var t in new[] { _x, _spikes, _h, _vLast, _gS, _gx, _copy })
            t?.Dispose();
    }

    [Benchmark(Baseline = true)]
    public void Copy()
    {
        _be.Convert(_x, _copy);
        _be.Synchronize();
    }

    [Benchmark]
    public void Forward()
    {
        _be.NeuronForward(_spec, _x, null, null, _spikes, _h, _vLast, null);
        _be.Synchronize();
    }

    [Benchmark]
    public void ForwardBackward()
    {
        _be.NeuronForward(_spec, _x, null, null, _spikes, _h, _vLast, null);
        _be.NeuronBackward(_spec, _h, null, null, _gS, null, _gx, null, null);
        _be.Synchronize();
    }

    // Bytes per neuron-step: copy 8; forward x in, s out, h out; backward grad_s in, h in, grad_x out.
    private static double BytesPerNeuronStep(BenchmarkCase c)
    {
        var h = (DType)c.Parameters["State"] == DType.Float32 ? 4 : 2;
        return c.Descriptor.WorkloadMethod.Name switch
        {
            nameof(Copy) => 8,
            nameof(Forward) => 8 + h,
            _ => 16 + 2 * h,
        };
    }

    private sealed class CudaNeuronConfig : ManualConfig
    {
        public CudaNeuronConfig()
        {
            AddJob(BenchJobs.Short);
            AddColumn(
                new ThroughputColumn(
                    "GB/s",
                    c => BytesPerNeuronStep(c) * (int)c.Parameters["T"] * (double)Neurons
                )
            );
        }
    }
}
