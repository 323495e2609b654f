using SpikeEngine.Cuda.Kernels;

namespace SpikeEngine.Cuda;

// Bit packing of binary tensors: kernels/bitpack.cu (the CPU twin is Core/Cpu/BitPack.cs).
public sealed partial class CudaBackend
{
    // The float32 <-> bit cases of Convert; false for every other pair of types.
    private bool TryConvertBits(Tensor src, Tensor dst, KernelArg s, KernelArg d, long n)
    {
        // Spikes saved for backward at 1 bit per element (the lean layout): one warp ballot per
        // 32-bit word, little-endian bit order, the same bytes as the CPU backend's packing.
        if ((src.DType, dst.DType) == (DType.Float32, DType.Bit))
        {
            Launch(KernelNames.BitpackPackF32, (n + 31) / 32 * 32, s, d, n);
            return true;
        }
        if ((src.DType, dst.DType) == (DType.Bit, DType.Float32))
        {
            Launch(KernelNames.BitpackUnpackF32, n, s, d, n);
            return true;
        }
        return false;
    }
}
