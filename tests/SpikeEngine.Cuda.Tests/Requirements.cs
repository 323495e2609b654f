using SpikeEngine.Cuda.Interop;
using SpikeEngine.Cuda.Kernels;

namespace SpikeEngine.Cuda.Tests;

/// <summary>
/// Visible skips: a test that needs NVRTC or a GPU skips with the reason when it is missing,
/// never passes. In CI (CI=true) NVRTC is fetched by .ci/fetch-nvrtc.sh, so its absence fails.
/// </summary>
internal static class Requirements
{
    public static bool InCi => Require.InCi;

    public static void Nvrtc()
    {
        if (NvrtcCompiler.IsAvailable)
        {
            return;
        }
        var detail = CudaLibraries.Probe().First(r => r.Library == CudaLibrary.Nvrtc).Detail;
        var reason =
            $"NVRTC not found ({detail}). Run `bash .ci/fetch-nvrtc.sh` and set {CudaLibraries.LibDirsVariable} to the folder it prints.";
        Require.MissingInstall(reason);
    }

    /// <summary>A check of the GPU itself (driver, timing, vendor libraries): skips without one, and under the CPU emulation.</summary>
    public static void Gpu()
    {
        if (CudaRuntime.IsEmulated)
        {
            Assert.Skip(
                $"needs a real GPU: {CudaRuntime.EmulateVariable}=1 runs the kernels on the CPU emulation, which has no driver, timing or vendor libraries"
            );
        }
        if (!CudaRuntime.IsAvailable)
        {
            Assert.Skip($"no CUDA GPU: {CudaRuntime.UnavailableReason}");
        }
    }

    /// <summary>
    /// The CUDA backend: a GPU with cuBLAS and cuDNN, or the CPU emulation
    /// (<c>SPIKEENGINE_CUDA_EMULATE=1</c>, as the README's test command sets); in CI the emulation
    /// library's absence fails.
    /// </summary>
    public static void CudaBackend()
    {
        if (CudaRuntime.IsEmulated)
        {
            Emulation();
            return;
        }
        GpuLibrary(CudaLibrary.Cublas);
        GpuLibrary(CudaLibrary.Cudnn);
    }

    /// <summary>The CPU emulation library of the kernels; skips without it (fails in CI).</summary>
    public static void Emulation()
    {
        if (CudaEmulationLibrary.IsLoadable)
        {
            return;
        }
        var reason =
            $"CUDA emulation library unavailable: {CudaEmulationLibrary.UnavailableReason}";
        Require.MissingInstall(reason);
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
