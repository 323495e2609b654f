using System.Runtime.InteropServices;

namespace SpikeEngine.Cuda.Interop;

/// <summary>
/// A driver-API object owned through a context. <see cref="ReleaseHandle"/> makes the owning
/// (primary) context current, destroys the object and never throws: on the finalizer path a
/// failure is counted, not raised.
/// </summary>
public abstract class CudaSafeHandle : SafeHandle
{
    private static long releaseFailures;

    protected CudaSafeHandle(IntPtr context, IntPtr value)
        : base(IntPtr.Zero, ownsHandle: true)
    {
        Context = context;
        SetHandle(value);
    }

    /// <summary>The context the object belongs to.</summary>
    public IntPtr Context { get; }

    /// <summary>Number of releases that returned an error (the process keeps going).</summary>
    public static long ReleaseFailures => Interlocked.Read(ref releaseFailures);

    public override bool IsInvalid => handle == IntPtr.Zero;

    protected sealed override bool ReleaseHandle()
    {
        try
        {
            if (Context != IntPtr.Zero)
            {
                _ = CudaDriver.cuCtxSetCurrent(Context);
            }
            if (Destroy(handle))
            {
                return true;
            }
        }
        catch (Exception) // A release must never throw, whatever the native side does.
        { }
        Interlocked.Increment(ref releaseFailures);
        return false;
    }

    /// <summary>Frees the object; true on success.</summary>
    protected abstract bool Destroy(IntPtr value);
}

/// <summary>A loaded module (<c>CUmodule</c>).</summary>
public sealed class CudaModuleHandle(IntPtr context, IntPtr value) : CudaSafeHandle(context, value)
{
    protected override bool Destroy(IntPtr value) =>
        CudaDriver.cuModuleUnload(value) == CUresult.CUDA_SUCCESS;
}

/// <summary>A stream (<c>CUstream</c>).</summary>
public sealed class CudaStreamHandle(IntPtr context, IntPtr value) : CudaSafeHandle(context, value)
{
    protected override bool Destroy(IntPtr value) =>
        CudaDriver.cuStreamDestroy_v2(value) == CUresult.CUDA_SUCCESS;
}

/// <summary>An event (<c>CUevent</c>).</summary>
public sealed class CudaEventHandle(IntPtr context, IntPtr value) : CudaSafeHandle(context, value)
{
    protected override bool Destroy(IntPtr value) =>
        CudaDriver.cuEventDestroy_v2(value) == CUresult.CUDA_SUCCESS;
}

/// <summary>A device allocation from <c>cuMemAlloc_v2</c> (the <c>CUdeviceptr</c> in the handle's bits).</summary>
public sealed class DevicePtrHandle(IntPtr context, ulong pointer)
    : CudaSafeHandle(context, (IntPtr)(long)pointer)
{
    /// <summary>The device address.</summary>
    public ulong Pointer => (ulong)(long)handle;

    protected override bool Destroy(IntPtr value) =>
        CudaDriver.cuMemFree_v2((ulong)(long)value) == CUresult.CUDA_SUCCESS;
}

/// <summary>Page-locked host memory from <c>cuMemAllocHost_v2</c>.</summary>
public sealed class PinnedHostHandle(IntPtr context, IntPtr value) : CudaSafeHandle(context, value)
{
    protected override unsafe bool Destroy(IntPtr value) =>
        CudaDriver.cuMemFreeHost((void*)value) == CUresult.CUDA_SUCCESS;
}

/// <summary>A cuBLAS handle (<c>cublasHandle_t</c>).</summary>
public sealed class CublasHandle(IntPtr context, IntPtr value) : CudaSafeHandle(context, value)
{
    protected override bool Destroy(IntPtr value) =>
        Cublas.cublasDestroy_v2(value) == cublasStatus_t.CUBLAS_STATUS_SUCCESS;
}

/// <summary>A cuDNN handle (<c>cudnnHandle_t</c>).</summary>
public sealed class CudnnHandle(IntPtr context, IntPtr value) : CudaSafeHandle(context, value)
{
    protected override bool Destroy(IntPtr value) =>
        Cudnn.cudnnDestroy(value) == cudnnStatus_t.CUDNN_STATUS_SUCCESS;
}
