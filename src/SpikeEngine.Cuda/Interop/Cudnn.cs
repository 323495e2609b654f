using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace SpikeEngine.Cuda.Interop;

#pragma warning disable CA1707, IDE1006 // C names.

/// <summary>cuDNN element type (<c>cudnnDataType_t</c>).</summary>
public enum cudnnDataType_t
{
    CUDNN_DATA_FLOAT = 0,
    CUDNN_DATA_DOUBLE = 1,
    CUDNN_DATA_HALF = 2,
    CUDNN_DATA_INT8 = 3,
    CUDNN_DATA_INT32 = 4,
    CUDNN_DATA_BFLOAT16 = 9,
}

/// <summary>cuDNN tensor layout (<c>cudnnTensorFormat_t</c>).</summary>
public enum cudnnTensorFormat_t
{
    CUDNN_TENSOR_NCHW = 0,
    CUDNN_TENSOR_NHWC = 1,
}

/// <summary>Convolution or cross-correlation (<c>cudnnConvolutionMode_t</c>); deep learning uses cross-correlation.</summary>
public enum cudnnConvolutionMode_t
{
    CUDNN_CONVOLUTION = 0,
    CUDNN_CROSS_CORRELATION = 1,
}

/// <summary>Tensor-core use (<c>cudnnMathType_t</c>).</summary>
public enum cudnnMathType_t
{
    CUDNN_DEFAULT_MATH = 0,
    CUDNN_TENSOR_OP_MATH = 1,
    CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION = 2,
    CUDNN_FMA_MATH = 3,
}

/// <summary>Whether an algorithm is bitwise reproducible (<c>cudnnDeterminism_t</c>).</summary>
public enum cudnnDeterminism_t
{
    CUDNN_NON_DETERMINISTIC = 0,
    CUDNN_DETERMINISTIC = 1,
}

/// <summary>One candidate of <c>cudnnGetConvolution*Algorithm_v7</c> (the three perf structs share this layout).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct cudnnConvolutionAlgoPerf_t
{
    public int algo;
    public cudnnStatus_t status;
    public float time;
    public nuint memory;
    public cudnnDeterminism_t determinism;
    public cudnnMathType_t mathType;
    public int reserved0;
    public int reserved1;
    public int reserved2;
}

/// <summary>
/// Raw cuDNN 9 legacy convolution API (in libcudnn_cnn, reached through the libcudnn shim).
/// Handles and descriptors are opaque <see cref="IntPtr"/>s; data are device pointers.
/// Algorithm ids are ints: <c>cudnnConvolutionFwdAlgo_t</c>, <c>...BwdDataAlgo_t</c> and
/// <c>...BwdFilterAlgo_t</c> are different enums sharing one perf-struct layout.
/// </summary>
public static unsafe partial class Cudnn
{
    static Cudnn() => CudaLibraries.EnsureResolver();

    private const string Lib = CudaLibraries.CudnnLogicalName;

    /// <summary>Throws <see cref="CudaException"/> unless <paramref name="r"/> is success.</summary>
    public static void Check(
        cudnnStatus_t r,
        [CallerArgumentExpression(nameof(r))] string? expr = null
    )
    {
        if (r != cudnnStatus_t.CUDNN_STATUS_SUCCESS)
        {
            throw new CudaException(r, ErrorName(r), expr);
        }
    }

    /// <summary>cuDNN's name for a status (<c>cudnnGetErrorString</c>), or the enum name.</summary>
    public static string ErrorName(cudnnStatus_t r)
    {
        try
        {
            var p = cudnnGetErrorString(r);
            if (p != null)
            {
                return Marshal.PtrToStringUTF8((IntPtr)p) ?? r.ToString();
            }
        }
        catch (DllNotFoundException) { }
        catch (EntryPointNotFoundException) { }
        return r.ToString();
    }

    // --- Library
    [LibraryImport(Lib)]
    public static partial nuint cudnnGetVersion();

    [LibraryImport(Lib)]
    public static partial byte* cudnnGetErrorString(cudnnStatus_t status);

    [LibraryImport(Lib)]
    public static partial cudnnStatus_t cudnnCreate(IntPtr* handle);

    [LibraryImport(Lib)]
    public static partial cudnnStatus_t cudnnDestroy(IntPtr handle);

    [LibraryImport(Lib)]
    public static partial cudnnStatus_t cudnnSetStream(IntPtr handle, IntPtr streamId);

    // --- Tensor descriptors
    [LibraryImport(Lib)]
    public static partial cudnnStatus_t cudnnCreateTensorDescriptor(IntPtr* tensorDesc);

    [LibraryImport(Lib)]
    public static partial cudnnStatus_t cudnnSetTensor4dDescriptor(
        IntPtr tensorDesc,
        cudnnTensorFormat_t format,
        cudnnDataType_t dataType,
        int n,
        int c,
        int h,
        int w
    );

    [LibraryImport(Lib)]
    public static partial cudnnStatus_t cudnnDestroyTensorDescriptor(IntPtr tensorDesc);

    // --- Filter descriptors
    [LibraryImport(Lib)]
    public static partial cudnnStatus_t cudnnCreateFilterDescriptor(IntPtr* filterDesc);

    [LibraryImport(Lib)]
    public static partial cudnnStatus_t cudnnSetFilter4dDescriptor(
        IntPtr filterDesc,
        cudnnDataType_t dataType,
        cudnnTensorFormat_t format,
        int k,
        int c,
        int h,
        int w
    );

    [LibraryImport(Lib)]
    public static partial cudnnStatus_t cudnnDestroyFilterDescriptor(IntPtr filterDesc);

    // --- Convolution descriptors
    [LibraryImport(Lib)]
    public static partial cudnnStatus_t cudnnCreateConvolutionDescriptor(IntPtr* convDesc);

    [LibraryImport(Lib)]
    public static partial cudnnStatus_t cudnnSetConvolution2dDescriptor(
        IntPtr convDesc,
        int padH,
        int padW,
        int strideH,
        int strideW,
        int dilationH,
        int dilationW,
        cudnnConvolutionMode_t mode,
        cudnnDataType_t computeType
    );

    [LibraryImport(Lib)]
    public static partial cudnnStatus_t cudnnSetConvolutionMathType(
        IntPtr convDesc,
        cudnnMathType_t mathType
    );

    [LibraryImport(Lib)]
    public static partial cudnnStatus_t cudnnSetConvolutionGroupCount(
        IntPtr convDesc,
        int groupCount
    );

    [LibraryImport(Lib)]
    public static partial cudnnStatus_t cudnnGetConvolution2dForwardOutputDim(
        IntPtr convDesc,
        IntPtr inputTensorDesc,
        IntPtr filterDesc,
        int* n,
        int* c,
        int* h,
        int* w
    );

    [LibraryImport(Lib)]
    public static partial cudnnStatus_t cudnnDestroyConvolutionDescriptor(IntPtr convDesc);

    // --- Convolution forward
    [LibraryImport(Lib)]
    public static partial cudnnStatus_t cudnnGetConvolutionForwardAlgorithm_v7(
        IntPtr handle,
        IntPtr srcDesc,
        IntPtr filterDesc,
        IntPtr convDesc,
        IntPtr destDesc,
        int requestedAlgoCount,
        int* returnedAlgoCount,
        cudnnConvolutionAlgoPerf_t* perfResults
    );

    [LibraryImport(Lib)]
    public static partial cudnnStatus_t cudnnGetConvolutionForwardWorkspaceSize(
        IntPtr handle,
        IntPtr xDesc,
        IntPtr wDesc,
        IntPtr convDesc,
        IntPtr yDesc,
        int algo,
        nuint* sizeInBytes
    );

    [LibraryImport(Lib)]
    public static partial cudnnStatus_t cudnnConvolutionForward(
        IntPtr handle,
        void* alpha,
        IntPtr xDesc,
        ulong x,
        IntPtr wDesc,
        ulong w,
        IntPtr convDesc,
        int algo,
        ulong workSpace,
        nuint workSpaceSizeInBytes,
        void* beta,
        IntPtr yDesc,
        ulong y
    );

    // --- Convolution backward data
    [LibraryImport(Lib)]
    public static partial cudnnStatus_t cudnnGetConvolutionBackwardDataAlgorithm_v7(
        IntPtr handle,
        IntPtr filterDesc,
        IntPtr diffDesc,
        IntPtr convDesc,
        IntPtr gradDesc,
        int requestedAlgoCount,
        int* returnedAlgoCount,
        cudnnConvolutionAlgoPerf_t* perfResults
    );

    [LibraryImport(Lib)]
    public static partial cudnnStatus_t cudnnGetConvolutionBackwardDataWorkspaceSize(
        IntPtr handle,
        IntPtr wDesc,
        IntPtr dyDesc,
        IntPtr convDesc,
        IntPtr dxDesc,
        int algo,
        nuint* sizeInBytes
    );

    [LibraryImport(Lib)]
    public static partial cudnnStatus_t cudnnConvolutionBackwardData(
        IntPtr handle,
        void* alpha,
        IntPtr wDesc,
        ulong w,
        IntPtr dyDesc,
        ulong dy,
        IntPtr convDesc,
        int algo,
        ulong workSpace,
        nuint workSpaceSizeInBytes,
        void* beta,
        IntPtr dxDesc,
        ulong dx
    );

    // --- Convolution backward filter
    [LibraryImport(Lib)]
    public static partial cudnnStatus_t cudnnGetConvolutionBackwardFilterAlgorithm_v7(
        IntPtr handle,
        IntPtr srcDesc,
        IntPtr diffDesc,
        IntPtr convDesc,
        IntPtr gradDesc,
        int requestedAlgoCount,
        int* returnedAlgoCount,
        cudnnConvolutionAlgoPerf_t* perfResults
    );

    [LibraryImport(Lib)]
    public static partial cudnnStatus_t cudnnGetConvolutionBackwardFilterWorkspaceSize(
        IntPtr handle,
        IntPtr xDesc,
        IntPtr dyDesc,
        IntPtr convDesc,
        IntPtr gradDesc,
        int algo,
        nuint* sizeInBytes
    );

    [LibraryImport(Lib)]
    public static partial cudnnStatus_t cudnnConvolutionBackwardFilter(
        IntPtr handle,
        void* alpha,
        IntPtr xDesc,
        ulong x,
        IntPtr dyDesc,
        ulong dy,
        IntPtr convDesc,
        int algo,
        ulong workSpace,
        nuint workSpaceSizeInBytes,
        void* beta,
        IntPtr dwDesc,
        ulong dw
    );
}
