using SpikeEngine.Cuda.Interop;

namespace SpikeEngine.Cuda.Tests;

/// <summary>
/// Kernel faults surface at the next synchronising call; the checker then names the last kernel
/// launched. Pure message logic: runs without a GPU.
/// </summary>
public class AsyncFaultMessageTests
{
    [Fact]
    public void AsyncFaultStatusNamesTheLastKernel()
    {
        CudaDriver.LastLaunchedKernel = "neuron_bwd_f32";
        var e = Assert.Throws<CudaException>(() =>
            CudaDriver.Check(CUresult.CUDA_ERROR_ILLEGAL_ADDRESS, "cuCtxSynchronize()")
        );
        Assert.Contains("cuCtxSynchronize()", e.Message);
        Assert.Contains("last kernel launched: neuron_bwd_f32", e.Message);
        Assert.Contains("SPIKEENGINE_CUDA_SYNC=1", e.Message);
    }

    [Fact]
    public void OrdinaryErrorsDoNotBlameAKernel()
    {
        CudaDriver.LastLaunchedKernel = "neuron_bwd_f32";
        var e = Assert.Throws<CudaException>(() =>
            CudaDriver.Check(CUresult.CUDA_ERROR_INVALID_VALUE, "cuMemAlloc_v2(&p, 0)")
        );
        Assert.DoesNotContain("last kernel", e.Message);
        Assert.False(CudaDriver.IsAsyncFault(CUresult.CUDA_ERROR_OUT_OF_MEMORY));
    }
}
