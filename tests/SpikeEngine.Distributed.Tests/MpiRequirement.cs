using SpikeEngine.Distributed.Mpi;

namespace SpikeEngine.Distributed.Tests;

/// <summary>
/// Tests that need MPICH skip visibly without it; in CI (CI=true) <c>.ci/run</c> installs it, so
/// its absence fails there. One MPI group serves the whole test process (MPI starts once).
/// </summary>
internal static class MpiRequirement
{
    private static readonly Lazy<MpiProcessGroup> Shared = new(() =>
        MpiProcessGroup.Create(TimeSpan.FromSeconds(60))
    );

    public static MpiProcessGroup Group()
    {
        if (!MpiLibrary.IsAvailable)
        {
            var reason = MpiLibrary.Describe();
            Require.MissingInstall(reason);
        }
        return Shared.Value;
    }
}
