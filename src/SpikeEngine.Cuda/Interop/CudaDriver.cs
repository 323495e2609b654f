using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace SpikeEngine.Cuda.Interop;

#pragma warning disable CA1707, IDE1006 // C names.

/// <summary>Device attributes used by the engine (cuda.h <c>CUdevice_attribute</c>).</summary>
public enum CUdevice_attribute
{
    CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK = 1,
    CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK = 8,
    CU_DEVICE_ATTRIBUTE_WARP_SIZE = 10,
    CU_DEVICE_ATTRIBUTE_CLOCK_RATE = 13,
    CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT = 16,
    CU_DEVICE_ATTRIBUTE_MEMORY_CLOCK_RATE = 36,
    CU_DEVICE_ATTRIBUTE_GLOBAL_MEMORY_BUS_WIDTH = 37,
    CU_DEVICE_ATTRIBUTE_L2_CACHE_SIZE = 38,
    CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_MULTIPROCESSOR = 39,
    CU_DEVICE_ATTRIBUTE_PCI_BUS_ID = 33,
    CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75,
    CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR = 76,
    CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_MULTIPROCESSOR = 81,
    CU_DEVICE_ATTRIBUTE_MAX_REGISTERS_PER_MULTIPROCESSOR = 82,
}

/// <summary>Function attributes (cuda.h <c>CUfunction_attribute</c>).</summary>
public enum CUfunction_attribute
{
    CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK = 0,
    CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES = 1,
    CU_FUNC_ATTRIBUTE_CONST_SIZE_BYTES = 2,
    CU_FUNC_ATTRIBUTE_LOCAL_SIZE_BYTES = 3,
    CU_FUNC_ATTRIBUTE_NUM_REGS = 4,
    CU_FUNC_ATTRIBUTE_PTX_VERSION = 5,
    CU_FUNC_ATTRIBUTE_BINARY_VERSION = 6,
}

/// <summary>JIT options for <c>cuModuleLoadDataEx</c> (cuda.h <c>CUjit_option</c>).</summary>
public enum CUjit_option
{
    CU_JIT_MAX_REGISTERS = 0,
    CU_JIT_THREADS_PER_BLOCK = 1,
    CU_JIT_WALL_TIME = 2,
    CU_JIT_INFO_LOG_BUFFER = 3,
    CU_JIT_INFO_LOG_BUFFER_SIZE_BYTES = 4,
    CU_JIT_ERROR_LOG_BUFFER = 5,
    CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES = 6,
    CU_JIT_OPTIMIZATION_LEVEL = 7,
    CU_JIT_LOG_VERBOSE = 12,
}

/// <summary>
/// Raw CUDA driver API (libcuda), grouped as in the CUDA driver API reference. Pointers to device
/// memory are <c>CUdeviceptr</c> = <see cref="ulong"/>; contexts, streams, events, modules and
/// functions are opaque <see cref="IntPtr"/>s. Check every status with <see cref="Check"/>.
/// </summary>
public static unsafe partial class CudaDriver
{
    static CudaDriver() => CudaLibraries.EnsureResolver();

    private const string Lib = CudaLibraries.DriverLogicalName;

    /// <summary>Throws <see cref="CudaException"/> unless <paramref name="r"/> is success.</summary>
    public static void Check(CUresult r, [CallerArgumentExpression(nameof(r))] string? expr = null)
    {
        if (r != CUresult.CUDA_SUCCESS)
        {
            throw new CudaException(
                r,
                ErrorName(r),
                expr,
                IsAsyncFault(r) ? AsyncFaultDetail() : null
            );
        }
    }

    /// <summary>Name of the most recent kernel launch on any thread (set by the launcher).</summary>
    public static volatile string? LastLaunchedKernel;

    /// <summary>
    /// Kernel faults are reported asynchronously, by whatever call synchronises next: such a status
    /// says little about the call that returned it, so the message names the last launch.
    /// </summary>
    public static bool IsAsyncFault(CUresult r) =>
        r
            is CUresult.CUDA_ERROR_ILLEGAL_ADDRESS
                or CUresult.CUDA_ERROR_LAUNCH_TIMEOUT
                or CUresult.CUDA_ERROR_ASSERT
                or CUresult.CUDA_ERROR_HARDWARE_STACK_ERROR
                or CUresult.CUDA_ERROR_ILLEGAL_INSTRUCTION
                or CUresult.CUDA_ERROR_MISALIGNED_ADDRESS
                or CUresult.CUDA_ERROR_INVALID_PC
                or CUresult.CUDA_ERROR_LAUNCH_FAILED;

    private static string AsyncFaultDetail() =>
        $"an earlier kernel faulted; last kernel launched: {LastLaunchedKernel ?? "none"} "
        + "(run with SPIKEENGINE_CUDA_SYNC=1 to check after every launch and name the faulting one)";

    /// <summary>The driver's name for a status (<c>cuGetErrorName</c>), or the enum name when the driver can't say.</summary>
    public static string ErrorName(CUresult r)
    {
        try
        {
            byte* p = null;
            if (cuGetErrorName(r, &p) == CUresult.CUDA_SUCCESS && p != null)
            {
                return Marshal.PtrToStringUTF8((IntPtr)p) ?? r.ToString();
            }
        }
        catch (DllNotFoundException) { }
        catch (EntryPointNotFoundException) { }
        return r.ToString();
    }

    // --- Error handling
    [LibraryImport(Lib)]
    public static partial CUresult cuGetErrorName(CUresult error, byte** pStr);

    // --- Initialization and version
    [LibraryImport(Lib)]
    public static partial CUresult cuInit(uint flags);

    [LibraryImport(Lib)]
    public static partial CUresult cuDriverGetVersion(int* driverVersion);

    // --- Device management
    [LibraryImport(Lib)]
    public static partial CUresult cuDeviceGetCount(int* count);

    [LibraryImport(Lib)]
    public static partial CUresult cuDeviceGet(int* device, int ordinal);

    [LibraryImport(Lib)]
    public static partial CUresult cuDeviceGetName(byte* name, int len, int dev);

    [LibraryImport(Lib)]
    public static partial CUresult cuDeviceGetAttribute(
        int* pi,
        CUdevice_attribute attrib,
        int dev
    );

    [LibraryImport(Lib)]
    public static partial CUresult cuDeviceTotalMem_v2(nuint* bytes, int dev);

    // --- Primary context management
    [LibraryImport(Lib)]
    public static partial CUresult cuDevicePrimaryCtxRetain(IntPtr* pctx, int dev);

    [LibraryImport(Lib)]
    public static partial CUresult cuDevicePrimaryCtxRelease_v2(int dev);

    // --- Context management
    [LibraryImport(Lib)]
    public static partial CUresult cuCtxSetCurrent(IntPtr ctx);

    [LibraryImport(Lib)]
    public static partial CUresult cuCtxSynchronize();

    // --- Memory management
    [LibraryImport(Lib)]
    public static partial CUresult cuMemGetInfo_v2(nuint* free, nuint* total);

    [LibraryImport(Lib)]
    public static partial CUresult cuMemAlloc_v2(ulong* dptr, nuint bytesize);

    [LibraryImport(Lib)]
    public static partial CUresult cuMemFree_v2(ulong dptr);

    [LibraryImport(Lib)]
    public static partial CUresult cuMemAllocHost_v2(void** pp, nuint bytesize);

    [LibraryImport(Lib)]
    public static partial CUresult cuMemFreeHost(void* p);

    [LibraryImport(Lib)]
    public static partial CUresult cuMemcpyHtoD_v2(ulong dstDevice, void* srcHost, nuint byteCount);

    [LibraryImport(Lib)]
    public static partial CUresult cuMemcpyDtoH_v2(void* dstHost, ulong srcDevice, nuint byteCount);

    [LibraryImport(Lib)]
    public static partial CUresult cuMemcpyDtoD_v2(
        ulong dstDevice,
        ulong srcDevice,
        nuint byteCount
    );

    [LibraryImport(Lib)]
    public static partial CUresult cuMemcpyHtoDAsync_v2(
        ulong dstDevice,
        void* srcHost,
        nuint byteCount,
        IntPtr hStream
    );

    [LibraryImport(Lib)]
    public static partial CUresult cuMemcpyDtoHAsync_v2(
        void* dstHost,
        ulong srcDevice,
        nuint byteCount,
        IntPtr hStream
    );

    [LibraryImport(Lib)]
    public static partial CUresult cuMemcpyDtoDAsync_v2(
        ulong dstDevice,
        ulong srcDevice,
        nuint byteCount,
        IntPtr hStream
    );

    [LibraryImport(Lib)]
    public static partial CUresult cuMemsetD8_v2(ulong dstDevice, byte uc, nuint n);

    [LibraryImport(Lib)]
    public static partial CUresult cuMemsetD32_v2(ulong dstDevice, uint ui, nuint n);

    [LibraryImport(Lib)]
    public static partial CUresult cuMemsetD8Async(
        ulong dstDevice,
        byte uc,
        nuint n,
        IntPtr hStream
    );

    [LibraryImport(Lib)]
    public static partial CUresult cuMemsetD32Async(
        ulong dstDevice,
        uint ui,
        nuint n,
        IntPtr hStream
    );

    // --- Stream management
    [LibraryImport(Lib)]
    public static partial CUresult cuStreamCreate(IntPtr* phStream, uint flags);

    [LibraryImport(Lib)]
    public static partial CUresult cuStreamDestroy_v2(IntPtr hStream);

    [LibraryImport(Lib)]
    public static partial CUresult cuStreamSynchronize(IntPtr hStream);

    [LibraryImport(Lib)]
    public static partial CUresult cuStreamQuery(IntPtr hStream);

    [LibraryImport(Lib)]
    public static partial CUresult cuStreamWaitEvent(IntPtr hStream, IntPtr hEvent, uint flags);

    // --- Event management
    [LibraryImport(Lib)]
    public static partial CUresult cuEventCreate(IntPtr* phEvent, uint flags);

    [LibraryImport(Lib)]
    public static partial CUresult cuEventRecord(IntPtr hEvent, IntPtr hStream);

    [LibraryImport(Lib)]
    public static partial CUresult cuEventQuery(IntPtr hEvent);

    [LibraryImport(Lib)]
    public static partial CUresult cuEventSynchronize(IntPtr hEvent);

    [LibraryImport(Lib)]
    public static partial CUresult cuEventElapsedTime(
        float* pMilliseconds,
        IntPtr hStart,
        IntPtr hEnd
    );

    [LibraryImport(Lib)]
    public static partial CUresult cuEventDestroy_v2(IntPtr hEvent);

    // --- Module management
    [LibraryImport(Lib)]
    public static partial CUresult cuModuleLoadDataEx(
        IntPtr* module,
        void* image,
        uint numOptions,
        CUjit_option* options,
        void** optionValues
    );

    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    public static partial CUresult cuModuleGetFunction(IntPtr* hfunc, IntPtr hmod, string name);

    [LibraryImport(Lib)]
    public static partial CUresult cuModuleUnload(IntPtr hmod);

    // --- Execution control
    [LibraryImport(Lib)]
    public static partial CUresult cuFuncGetAttribute(
        int* pi,
        CUfunction_attribute attrib,
        IntPtr hfunc
    );

    [LibraryImport(Lib)]
    public static partial CUresult cuLaunchKernel(
        IntPtr f,
        uint gridDimX,
        uint gridDimY,
        uint gridDimZ,
        uint blockDimX,
        uint blockDimY,
        uint blockDimZ,
        uint sharedMemBytes,
        IntPtr hStream,
        void** kernelParams,
        void** extra
    );

    // --- Occupancy
    [LibraryImport(Lib)]
    public static partial CUresult cuOccupancyMaxActiveBlocksPerMultiprocessor(
        int* numBlocks,
        IntPtr func,
        int blockSize,
        nuint dynamicSMemSize
    );

    [LibraryImport(Lib)]
    public static partial CUresult cuOccupancyMaxPotentialBlockSize(
        int* minGridSize,
        int* blockSize,
        IntPtr func,
        IntPtr blockSizeToDynamicSMemSize,
        nuint dynamicSMemSize,
        int blockSizeLimit
    );
}
