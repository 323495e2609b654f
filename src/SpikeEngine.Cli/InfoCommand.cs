using System.CommandLine;
using System.Runtime.InteropServices;
using SpikeEngine.Cpu;

namespace SpikeEngine.Cli;

/// <summary><c>spike info</c>: version, devices, and where each native library was found or why not.</summary>
public static class InfoCommand
{
    public static Command Build(TextWriter stdout)
    {
        var cmd = new Command(
            "info",
            $"Show the version, the devices found and the native libraries (found where, or why not). {Spike.ExitCodes}"
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
        yield return Backends.IsRegistered(DeviceKind.Cuda)
            ? "  cuda: backend registered"
            : "  cuda: no CUDA backend in this build (the CUDA layer is not merged yet); training runs on the CPU";
        yield return "native libraries:";
        yield return $"  BLAS: {Blas.Status}";
        yield return "  CUDA driver, NVRTC, cuBLAS, cuDNN: not probed (the CUDA layer's probe is not part of this build)";
    }
}
