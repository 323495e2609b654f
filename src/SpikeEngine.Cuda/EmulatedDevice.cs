using SpikeEngine.Cuda.Interop;
using SpikeEngine.Cuda.Kernels;
using SpikeEngine.Cuda.Memory;

namespace SpikeEngine.Cuda;

/// <summary>
/// The CPU stand-in for a GPU when <c>SPIKEENGINE_CUDA_EMULATE=1</c>: bounds-checked host memory
/// (<see cref="HostMemorySource"/>) and the emulation library that runs the unmodified kernels,
/// one fiber per CUDA thread (docs/gpu.md). Launches run synchronously on the calling thread;
/// after each one the memory's red zones are checked, so a kernel that wrote out of bounds fails
/// with the kernel's name.
/// </summary>
public sealed unsafe class EmulatedDevice : IDisposable
{
    /// <summary>
    /// Multiprocessors the emulated device reports. Grids are sized from it: a few, so that
    /// grid-stride loops wrap and multi-block reductions combine partial results, as on a GPU.
    /// </summary>
    public const int MultiprocessorCount = 4;

    public HostMemorySource Memory { get; } = new();

    public override string ToString() => "CPU emulation of the CUDA kernels";

    /// <summary>Runs <paramref name="function"/> (from <see cref="CudaModule.LoadEmulated"/>) over the grid.</summary>
    public void Launch(
        CudaFunction function,
        (uint X, uint Y, uint Z) grid,
        (uint X, uint Y, uint Z) block,
        uint sharedBytes,
        void** args
    )
    {
        var config = CudaEmulationLibrary.LaunchConfig.Of(grid, block, sharedBytes);
        var call =
            $"{function.Name} (emulated), grid ({grid.X},{grid.Y},{grid.Z}), block ({block.X},{block.Y},{block.Z})";
        var error = CudaEmulationLibrary.Launch(function.Handle, config, args);
        if (error is not null)
            throw new CudaException(
                CUresult.CUDA_ERROR_LAUNCH_FAILED,
                "CUDA_ERROR_LAUNCH_FAILED",
                call,
                error
            );
        Memory.CheckRedZones(call);
    }

    public void Dispose() => Memory.Dispose();
}
