using SpikeEngine.Cuda.Kernels;

namespace SpikeEngine.Cuda;

// Random fills: kernels/random.cu (the CPU twin is Core/Cpu/Random.cs).
public sealed partial class CudaBackend
{
    public void FillRandom(Tensor y, RandomKind kind, float a, float b, ulong seed) =>
        Launch(
            KernelNames.RandFillF32,
            y.Numel,
            Ptr("FillRandom", "y", y),
            (int)kind,
            a,
            b,
            unchecked((long)seed),
            y.Numel
        );
}
