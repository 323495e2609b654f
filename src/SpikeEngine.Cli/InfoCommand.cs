using System.CommandLine;
using System.Runtime.InteropServices;
using SpikeEngine.Cpu;
using SpikeEngine.Cuda;
using SpikeEngine.Cuda.Interop;

namespace SpikeEngine.Cli;

/// <summary><c>spike info</c>: version, devices, and where each native library was found or why not.</summary>
public static class InfoCommand
{
    public static Command Build(TextWriter stdout)
    {
        var cmd = new Command(
            "info",
            "Show the version, the devices found and the native libraries (found where, or why not)."
        );
        cmd.SetAction(_ =>
        {
            foreach (var line in Lines())
                stdout.WriteLine(line);
            return Spike.Success;
        });
        return cmd;
    }

    public static IEnumerable<string> Lines()
    {
        yield return $"spike {Spike.Version} (.NET {Environment.Version}, {RuntimeInformation.OSDescription.Trim()}, {RuntimeInformation.ProcessArchitecture})";
        yield return "devices:";
        yield return $"  cpu: {Environment.ProcessorCount} logical cores";
        yield return (CudaRuntime.IsAvailable, CudaRuntime.IsEmulated) switch
        {
            (true, true) =>
                $"  cuda: 1 emulated device ({CudaRuntime.EmulateVariable}=1: the CUDA kernels run on the CPU, GEMM and convolution on the CPU backend; {CudaEmulationLibrary.Path})",
            (true, false) => $"  cuda: {CudaRuntime.DeviceCount} device(s)",
            _ => $"  cuda: none ({CudaRuntime.UnavailableReason})",
        };
        yield return "native libraries:";
        yield return $"  BLAS: {Blas.Status}";
        yield return $"  oneDNN: {CpuBackend.ConvolutionPath}";
        yield return CudaEmulationLibrary.IsLoadable
            ? $"  CUDA emulation: found {CudaEmulationLibrary.Path} (used with {CudaRuntime.EmulateVariable}=1)"
            : $"  CUDA emulation: not found: {CudaEmulationLibrary.UnavailableReason}";
        foreach (var r in CudaLibraries.Probe())
        {
            var version = r.Version is null ? "" : $" (version {r.Version})";
            yield return r.Found
                ? $"  {r.Library}: found {r.Path}{version}; {r.Detail}"
                : $"  {r.Library}: not found: {r.Detail}";
        }
    }
}
