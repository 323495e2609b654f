using System.Runtime.InteropServices;

namespace SpikeEngine.Distributed.Nccl;

/// <summary>NCCL's result codes (<c>ncclResult_t</c>).</summary>
public enum ncclResult_t
{
    ncclSuccess = 0,
    ncclUnhandledCudaError = 1,
    ncclSystemError = 2,
    ncclInternalError = 3,
    ncclInvalidArgument = 4,
    ncclInvalidUsage = 5,
    ncclRemoteError = 6,
    ncclInProgress = 7,
}

/// <summary>NCCL's element types (<c>ncclDataType_t</c>).</summary>
public enum ncclDataType_t
{
    ncclInt8 = 0,
    ncclUint8 = 1,
    ncclInt32 = 2,
    ncclUint32 = 3,
    ncclInt64 = 4,
    ncclUint64 = 5,
    ncclFloat16 = 6,
    ncclFloat32 = 7,
    ncclFloat64 = 8,
    ncclBfloat16 = 9,
}

/// <summary>NCCL's reductions (<c>ncclRedOp_t</c>); <c>ncclAvg</c> needs NCCL ≥ 2.10.</summary>
public enum ncclRedOp_t
{
    ncclSum = 0,
    ncclProd = 1,
    ncclMax = 2,
    ncclMin = 3,
    ncclAvg = 4,
}

/// <summary><c>ncclUniqueId</c>: 128 opaque bytes that rank 0 creates and every rank receives.</summary>
[StructLayout(LayoutKind.Sequential)]
public unsafe struct ncclUniqueId
{
    public const int Bytes = 128;
    public fixed byte Internal[Bytes];
}

/// <summary>
/// Raw bindings of <c>libnccl.so.2</c> (the functions the process group uses), C names kept;
/// found by <see cref="NcclLibrary"/>. Communicators and CUDA streams are opaque pointers;
/// buffers are device addresses.
/// </summary>
public static unsafe partial class Nccl
{
    static Nccl() => Mpi.MpiLibrary.EnsureResolvers();

    [LibraryImport(NcclLibrary.LogicalName)]
    public static partial ncclResult_t ncclGetVersion(int* version);

    [LibraryImport(NcclLibrary.LogicalName)]
    public static partial ncclResult_t ncclGetUniqueId(ncclUniqueId* uniqueId);

    [LibraryImport(NcclLibrary.LogicalName)]
    public static partial ncclResult_t ncclCommInitRank(
        IntPtr* comm,
        int nranks,
        ncclUniqueId commId,
        int rank
    );

    [LibraryImport(NcclLibrary.LogicalName)]
    public static partial ncclResult_t ncclCommDestroy(IntPtr comm);

    [LibraryImport(NcclLibrary.LogicalName)]
    public static partial ncclResult_t ncclCommAbort(IntPtr comm);

    [LibraryImport(NcclLibrary.LogicalName)]
    public static partial ncclResult_t ncclCommGetAsyncError(IntPtr comm, ncclResult_t* asyncError);

    [LibraryImport(NcclLibrary.LogicalName)]
    public static partial IntPtr ncclGetErrorString(ncclResult_t result);

    [LibraryImport(NcclLibrary.LogicalName)]
    public static partial ncclResult_t ncclAllReduce(
        ulong sendbuff,
        ulong recvbuff,
        nuint count,
        ncclDataType_t datatype,
        ncclRedOp_t op,
        IntPtr comm,
        IntPtr stream
    );

    [LibraryImport(NcclLibrary.LogicalName)]
    public static partial ncclResult_t ncclBroadcast(
        ulong sendbuff,
        ulong recvbuff,
        nuint count,
        ncclDataType_t datatype,
        int root,
        IntPtr comm,
        IntPtr stream
    );

    [LibraryImport(NcclLibrary.LogicalName)]
    public static partial ncclResult_t ncclGroupStart();

    [LibraryImport(NcclLibrary.LogicalName)]
    public static partial ncclResult_t ncclGroupEnd();

    /// <summary>Throws <see cref="NcclException"/> naming the result and the failing call's text.</summary>
    public static void Check(
        ncclResult_t result,
        [System.Runtime.CompilerServices.CallerArgumentExpression(nameof(result))]
            string? expression = null
    )
    {
        if (result == ncclResult_t.ncclSuccess)
            return;
        string text;
        try
        {
            text = Marshal.PtrToStringAnsi(ncclGetErrorString(result)) ?? "";
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            text = "";
        }
        throw new NcclException(result, $"{expression} failed: {result} ({text})");
    }
}

/// <summary>An NCCL call returned an error.</summary>
public sealed class NcclException(ncclResult_t result, string message) : Exception(message)
{
    public ncclResult_t Result { get; } = result;
}

/// <summary>
/// Finds <c>libnccl.so.2</c> as the CUDA layer finds its libraries
/// (<see cref="SpikeEngine.Cuda.Interop.CudaLibraries.SearchDirectories"/>: the folders in
/// <c>SPIKEENGINE_CUDA_LIB_DIRS</c>, the system folders, <c>/usr/local/cuda*</c> and the pip
/// wheels' <c>site-packages/nvidia/*/lib</c>, where PyTorch's <c>nvidia/nccl/lib</c> sits), then
/// the system loader by soname.
/// </summary>
public static class NcclLibrary
{
    internal const string LogicalName = "spikeengine-nccl";
    private const string Soname = "libnccl.so.2";
    private static readonly Lock Gate = new();
    private static IntPtr handle;
    private static string? detail;

    /// <summary>Whether NCCL loads (loads it on first call).</summary>
    public static bool IsAvailable => Load() != IntPtr.Zero;

    /// <summary>Where NCCL was loaded from, or why it was not.</summary>
    public static string Describe()
    {
        Load();
        return detail!;
    }

    internal static IntPtr Load()
    {
        lock (Gate)
        {
            if (detail is not null)
                return handle;
            foreach (var dir in SpikeEngine.Cuda.Interop.CudaLibraries.SearchDirectories())
            {
                var path = Path.Combine(dir, Soname);
                if (File.Exists(path) && NativeLibrary.TryLoad(path, out handle))
                {
                    detail = $"NCCL {path}";
                    return handle;
                }
            }
            if (NativeLibrary.TryLoad(Soname, out handle))
            {
                detail = $"NCCL {Soname} (system loader)";
                return handle;
            }
            detail =
                $"{Soname} not found in the CUDA library folders (SPIKEENGINE_CUDA_LIB_DIRS, system, /usr/local/cuda*, pip site-packages/nvidia/*/lib) nor by the system loader";
            return IntPtr.Zero;
        }
    }
}
