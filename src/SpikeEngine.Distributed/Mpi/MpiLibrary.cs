using System.Reflection;
using System.Runtime.InteropServices;

namespace SpikeEngine.Distributed.Mpi;

/// <summary>
/// Loads the MPI library for MPI.NET and for <see cref="MpiNative"/>. MPI.NET binds MS-MPI's
/// <c>msmpi.dll</c>; MS-MPI shares MPICH's ABI (integer handles, the same constants and status
/// layout), so on Linux a <see cref="NativeLibrary.SetDllImportResolver"/> on MPI.NET's assembly
/// maps that name to MPICH's <c>libmpich.so.12</c> (Debian's <c>mpich</c> package). Set
/// <c>SPIKEENGINE_MPI_LIB</c> to a path to load another MPICH-ABI library. OpenMPI, whose handles
/// are pointers, cannot work this way.
/// </summary>
public static class MpiLibrary
{
    /// <summary>Path or soname of the MPI library to load instead of the default.</summary>
    public const string LibraryVariable = "SPIKEENGINE_MPI_LIB";

    internal const string LogicalName = "spikeengine-mpi";
    private static readonly string[] Candidates = ["libmpich.so.12", "libmpi.so.12"];
    private static readonly Lock Gate = new();
    private static bool resolversInstalled;
    private static IntPtr handle;
    private static string? loadedFrom;
    private static string? failure;

    /// <summary>Whether an MPICH-ABI library loads (loads it on first call).</summary>
    public static bool IsAvailable => Load() != IntPtr.Zero;

    /// <summary>The library loaded, or why none was: one line for messages and test skips.</summary>
    public static string Describe()
    {
        Load();
        return loadedFrom is not null ? $"MPI library {loadedFrom}" : failure!;
    }

    /// <summary>Installs the resolvers of MPI.NET's assembly and of this one; idempotent.</summary>
    internal static void EnsureResolvers()
    {
        lock (Gate)
        {
            if (resolversInstalled)
                return;
            NativeLibrary.SetDllImportResolver(typeof(MPI.Communicator).Assembly, ResolveMpiNet);
            NativeLibrary.SetDllImportResolver(typeof(MpiLibrary).Assembly, ResolveOwn);
            resolversInstalled = true;
        }
    }

    private static IntPtr ResolveMpiNet(
        string name,
        Assembly assembly,
        DllImportSearchPath? path
    ) => name is "msmpi.dll" or "msmpi" ? Load() : IntPtr.Zero;

    private static IntPtr ResolveOwn(string name, Assembly assembly, DllImportSearchPath? path) =>
        name switch
        {
            LogicalName => Load(),
            Nccl.NcclLibrary.LogicalName => Nccl.NcclLibrary.Load(),
            _ => IntPtr.Zero,
        };

    private static IntPtr Load()
    {
        lock (Gate)
        {
            if (handle != IntPtr.Zero || failure is not null)
                return handle;
            var custom = Environment.GetEnvironmentVariable(LibraryVariable);
            string[] names = string.IsNullOrWhiteSpace(custom) ? Candidates : [custom];
            foreach (var name in names)
            {
                if (NativeLibrary.TryLoad(name, out handle))
                {
                    loadedFrom = name;
                    return handle;
                }
            }
            failure =
                $"no MPICH-ABI MPI library: none of {string.Join(", ", names)} loads "
                + $"(Debian: apt-get install mpich; or set {LibraryVariable})";
            return IntPtr.Zero;
        }
    }
}
