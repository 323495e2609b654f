using System.Runtime.InteropServices;

namespace SpikeEngine.Distributed.Mpi;

/// <summary>
/// The MPI-3 non-blocking collectives MPI.NET 1.4 does not declare (it predates them), bound to
/// the same library through <see cref="MpiLibrary"/>. Handles are MPICH-ABI integers, as in
/// MPI.NET's <c>MPI.Unsafe</c>, whose declarations (test, send, receive, cancel, communicator
/// and error functions) the engine uses for the rest.
/// </summary>
internal static partial class MpiNative
{
    /// <summary>MPICH's <c>MPI_IN_PLACE</c>: the address −1.</summary>
    public static readonly IntPtr InPlace = new(-1);

    static MpiNative() => MpiLibrary.EnsureResolvers();

    [LibraryImport(MpiLibrary.LogicalName)]
    public static partial int MPI_Iallreduce(
        IntPtr sendbuf,
        IntPtr recvbuf,
        int count,
        int datatype,
        int op,
        int comm,
        out int request
    );

    [LibraryImport(MpiLibrary.LogicalName)]
    public static partial int MPI_Ibcast(
        IntPtr buffer,
        int count,
        int datatype,
        int root,
        int comm,
        out int request
    );

    [LibraryImport(MpiLibrary.LogicalName)]
    public static partial int MPI_Ibarrier(int comm, out int request);
}
