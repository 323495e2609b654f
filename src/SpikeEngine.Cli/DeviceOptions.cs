using System.CommandLine;

namespace SpikeEngine.Cli;

/// <summary>The <c>--device</c> option of the commands that run a model: cpu, cuda or cuda:N.</summary>
internal static class DeviceOptions
{
    /// <summary>The option, validated as a device name (default cpu).</summary>
    public static Option<string> Create()
    {
        var device = new Option<string>("--device")
        {
            Description = "cpu, cuda or cuda:N.",
            DefaultValueFactory = _ => "cpu",
        };
        device.Validators.Add(r =>
        {
            var v = r.GetValueOrDefault<string>();
            try
            {
                Device.Parse(v);
            }
            catch (ArgumentException)
            {
                r.AddError($"--device: expected cpu, cuda or cuda:N, got '{v}'");
            }
        });
        return device;
    }

    /// <summary>The device to run on; a CUDA device must be present (the error says why it is not).</summary>
    public static Device Resolve(string text)
    {
        var dev = Device.Parse(text);
        if (dev.Kind == DeviceKind.Cpu)
            return dev;
        if (!SpikeEngine.Cuda.CudaRuntime.IsAvailable)
            throw new InvalidOperationException(
                $"--device {dev}: no CUDA GPU here ({SpikeEngine.Cuda.CudaRuntime.UnavailableReason}); use --device cpu"
            );
        if (!Backends.IsRegistered(dev.Kind))
            throw new InvalidOperationException(
                $"--device {dev}: the CUDA backend is not registered; use --device cpu"
            );
        if (dev.Index >= SpikeEngine.Cuda.CudaRuntime.DeviceCount)
            throw new InvalidOperationException(
                $"--device {dev}: this machine has {SpikeEngine.Cuda.CudaRuntime.DeviceCount} CUDA device(s), cuda:0 to cuda:{SpikeEngine.Cuda.CudaRuntime.DeviceCount - 1}"
            );
        return dev;
    }
}
