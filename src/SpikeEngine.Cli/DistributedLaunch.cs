using System.Globalization;
using SpikeEngine.Distributed;
using SpikeEngine.Distributed.Mpi;
using SpikeEngine.Distributed.Nccl;

namespace SpikeEngine.Cli;

/// <summary>The process group of <c>spike train --distributed</c>.</summary>
public static class DistributedLaunch
{
    /// <summary>
    /// Null for <c>none</c>; an MPI group for <c>mpi</c>; for <c>nccl</c> an NCCL group bootstrapped
    /// over MPI, on the GPU given by <paramref name="device"/> or, with <paramref name="localGpu"/> (plain <c>--device cuda</c>), on the
    /// rank's local index among the ranks of its machine (MPICH's <c>MPI_LOCALRANKID</c>).
    /// </summary>
    public static IProcessGroup? CreateGroup(
        string mode,
        bool localGpu,
        ref Device device,
        TimeSpan timeout
    )
    {
        switch (mode)
        {
            case "none":
                return null;
            case "mpi":
                return MpiProcessGroup.Create(timeout);
            case "nccl":
            {
                var mpi = MpiProcessGroup.Create(timeout);
                try
                {
                    var local = Environment.GetEnvironmentVariable("MPI_LOCALRANKID");
                    if (localGpu && local is not null)
                        device = Device.Parse(
                            "cuda:" + int.Parse(local, CultureInfo.InvariantCulture)
                        );
                    return NcclProcessGroup.Create(mpi, device, timeout);
                }
                catch
                {
                    mpi.Dispose();
                    throw;
                }
            }
            default:
                throw new UsageException(
                    $"--distributed: expected none, mpi or nccl, got '{mode}'"
                );
        }
    }
}
