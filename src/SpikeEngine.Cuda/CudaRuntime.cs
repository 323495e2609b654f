using SpikeEngine.Cuda.Interop;

namespace SpikeEngine.Cuda;

/// <summary>
/// Whether CUDA can run here: the driver library loads, initialises, and reports a device; or,
/// with <c>SPIKEENGINE_CUDA_EMULATE=1</c>, the CPU emulation of the kernels stands in for one
/// device (docs/gpu.md).
/// </summary>
public static unsafe class CudaRuntime
{
    /// <summary>Set to 1 to run the CUDA backend on the CPU emulation of the kernels instead of a GPU (read once).</summary>
    public const string EmulateVariable = "SPIKEENGINE_CUDA_EMULATE";

    private static readonly Lazy<(int Count, string? Reason)> State = new(Query);

    /// <summary>Whether the CUDA backend runs on the CPU emulation (<c>SPIKEENGINE_CUDA_EMULATE=1</c>).</summary>
    public static bool IsEmulated { get; } =
        Environment.GetEnvironmentVariable(EmulateVariable) == "1";

    /// <summary>True when the driver is present AND at least one device was found (emulated: when the emulation library loads). Never throws.</summary>
    public static bool IsAvailable => State.Value.Count > 0;

    /// <summary>Number of devices the driver reports (0 when unavailable; 1 when emulated).</summary>
    public static int DeviceCount => State.Value.Count;

    /// <summary>Why <see cref="IsAvailable"/> is false (null when it is true).</summary>
    public static string? UnavailableReason => State.Value.Reason;

    private static (int, string?) Query()
    {
        if (IsEmulated)
        {
            return CudaEmulationLibrary.IsLoadable
                ? (1, null)
                : (0, $"{EmulateVariable}=1 but {CudaEmulationLibrary.UnavailableReason}");
        }
        try
        {
            if (!CudaLibraries.IsLoadable(CudaLibrary.Driver))
            {
                var report = CudaLibraries.Probe().First(r => r.Library == CudaLibrary.Driver);
                return (0, $"CUDA driver library not found: {report.Detail}");
            }
            var r = CudaDriver.cuInit(0);
            if (r != CUresult.CUDA_SUCCESS)
            {
                return (0, $"cuInit(0) returned {CudaDriver.ErrorName(r)}");
            }
            int count;
            r = CudaDriver.cuDeviceGetCount(&count);
            if (r != CUresult.CUDA_SUCCESS)
            {
                return (0, $"cuDeviceGetCount returned {CudaDriver.ErrorName(r)}");
            }
            return count > 0 ? (count, null) : (0, "the CUDA driver reports no device");
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return (0, $"CUDA driver unusable: {e.Message}");
        }
    }
}
