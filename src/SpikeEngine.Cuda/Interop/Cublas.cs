using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace SpikeEngine.Cuda.Interop;

#pragma warning disable CA1707, IDE1006 // C names.

/// <summary>cuBLAS transpose flag (<c>cublasOperation_t</c>).</summary>
public enum cublasOperation_t
{
    CUBLAS_OP_N = 0,
    CUBLAS_OP_T = 1,
    CUBLAS_OP_C = 2,
}

/// <summary>Element types (library_types.h <c>cudaDataType_t</c>), the ones the engine uses.</summary>
public enum cudaDataType_t
{
    CUDA_R_32F = 0,
    CUDA_R_64F = 1,
    CUDA_R_16F = 2,
    CUDA_R_8I = 3,
    CUDA_R_32I = 10,
    CUDA_R_16BF = 14,
}

/// <summary>cuBLAS compute type (<c>cublasComputeType_t</c>).</summary>
public enum cublasComputeType_t
{
    CUBLAS_COMPUTE_16F = 64,
    CUBLAS_COMPUTE_32F = 68,
    CUBLAS_COMPUTE_32F_FAST_16F = 74,
    CUBLAS_COMPUTE_32F_FAST_16BF = 75,
    CUBLAS_COMPUTE_32F_FAST_TF32 = 77,
    CUBLAS_COMPUTE_64F = 70,
}

/// <summary>cuBLAS GEMM algorithm (<c>cublasGemmAlgo_t</c>).</summary>
public enum cublasGemmAlgo_t
{
    CUBLAS_GEMM_DEFAULT = -1,
    CUBLAS_GEMM_DEFAULT_TENSOR_OP = 99,
}

/// <summary>
/// Raw cuBLAS API (column-major, as in Fortran BLAS). A handle is an opaque
/// <see cref="IntPtr"/>; matrices are device pointers (<see cref="ulong"/>).
/// </summary>
public static unsafe partial class Cublas
{
    static Cublas() => CudaLibraries.EnsureResolver();

    private const string Lib = CudaLibraries.CublasLogicalName;

    /// <summary>Throws <see cref="CudaException"/> unless <paramref name="r"/> is success.</summary>
    public static void Check(
        cublasStatus_t r,
        [CallerArgumentExpression(nameof(r))] string? expr = null
    )
    {
        if (r != cublasStatus_t.CUBLAS_STATUS_SUCCESS)
        {
            throw new CudaException(r, ErrorName(r), expr);
        }
    }

    /// <summary>cuBLAS's name for a status (<c>cublasGetStatusName</c>, cuBLAS 11.4+), or the enum name.</summary>
    public static string ErrorName(cublasStatus_t r)
    {
        try
        {
            var p = cublasGetStatusName(r);
            if (p != null)
            {
                return Marshal.PtrToStringUTF8((IntPtr)p) ?? r.ToString();
            }
        }
        catch (DllNotFoundException) { }
        catch (EntryPointNotFoundException) { }
        return r.ToString();
    }

    [LibraryImport(Lib)]
    public static partial byte* cublasGetStatusName(cublasStatus_t status);

    [LibraryImport(Lib)]
    public static partial cublasStatus_t cublasCreate_v2(IntPtr* handle);

    [LibraryImport(Lib)]
    public static partial cublasStatus_t cublasDestroy_v2(IntPtr handle);

    [LibraryImport(Lib)]
    public static partial cublasStatus_t cublasGetVersion_v2(IntPtr handle, int* version);

    [LibraryImport(Lib)]
    public static partial cublasStatus_t cublasSetStream_v2(IntPtr handle, IntPtr streamId);

    [LibraryImport(Lib)]
    public static partial cublasStatus_t cublasSgemm_v2(
        IntPtr handle,
        cublasOperation_t transa,
        cublasOperation_t transb,
        int m,
        int n,
        int k,
        float* alpha,
        ulong a,
        int lda,
        ulong b,
        int ldb,
        float* beta,
        ulong c,
        int ldc
    );

    [LibraryImport(Lib)]
    public static partial cublasStatus_t cublasGemmStridedBatchedEx(
        IntPtr handle,
        cublasOperation_t transa,
        cublasOperation_t transb,
        int m,
        int n,
        int k,
        void* alpha,
        ulong a,
        cudaDataType_t aType,
        int lda,
        long strideA,
        ulong b,
        cudaDataType_t bType,
        int ldb,
        long strideB,
        void* beta,
        ulong c,
        cudaDataType_t cType,
        int ldc,
        long strideC,
        int batchCount,
        cublasComputeType_t computeType,
        cublasGemmAlgo_t algo
    );
}
