using SpikeEngine.Cuda.Interop;
using SpikeEngine.Cuda.Kernels;

namespace SpikeEngine.Cuda.Tests;

/// <summary>
/// Visible skips: a test that needs NVRTC or a GPU skips with the reason when it is missing,
/// never passes. In CI (CI=true) NVRTC is fetched by .ci/fetch-nvrtc.sh, so its absence fails.
/// </summary>
internal static class Requirements
{
    public static bool InCi =>
        string.Equals(
            Environment.GetEnvironmentVariable("CI"),
            "true",
            StringComparison.OrdinalIgnoreCase
        );

    public static void Nvrtc()
    {
        if (NvrtcCompiler.IsAvailable)
        {
            return;
        }
        var detail = CudaLibraries.Probe().First(r => r.Library == CudaLibrary.Nvrtc).Detail;
        var reason =
            $"NVRTC not found ({detail}). Run `bash .ci/fetch-nvrtc.sh` and set {CudaLibraries.LibDirsVariable} to the folder it prints.";
        if (InCi)
        {
            Assert.Fail("CI=true but " + reason);
        }
        Assert.Skip(reason);
    }

    public static void Gpu()
    {
        if (!CudaRuntime.IsAvailable)
        {
            Assert.Skip($"no CUDA GPU: {CudaRuntime.UnavailableReason}");
        }
    }

    public static void GpuLibrary(CudaLibrary library)
    {
        Gpu();
        if (!CudaLibraries.IsLoadable(library))
        {
            var detail = CudaLibraries.Probe().First(r => r.Library == library).Detail;
            Assert.Skip($"{library} not found: {detail}");
        }
    }

    /// <summary>Writes to the test's output and to the console, so the CI log shows it.</summary>
    public static void Log(string line)
    {
        TestContext.Current.TestOutputHelper?.WriteLine(line);
        Console.WriteLine(line);
    }
}
