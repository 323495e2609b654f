using System.Runtime.InteropServices;
using SpikeEngine.Cuda.Interop;

namespace SpikeEngine.Cuda;

/// <summary>
/// One GPU with its primary context retained. Every driver object the engine makes belongs to
/// this context; <see cref="MakeCurrent"/> binds it to the calling thread.
/// </summary>
public sealed unsafe class CudaDevice : IDisposable
{
    private bool disposed;

    private CudaDevice(int ordinal, int device, IntPtr context)
    {
        Ordinal = ordinal;
        Device = device;
        Context = context;
        var name = stackalloc byte[256];
        CudaDriver.Check(CudaDriver.cuDeviceGetName(name, 256, device));
        Name = Marshal.PtrToStringUTF8((IntPtr)name) ?? "?";
        ComputeCapability = (
            Attribute(CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR),
            Attribute(CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR)
        );
        MultiprocessorCount = Attribute(
            CUdevice_attribute.CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT
        );
        nuint total;
        CudaDriver.Check(CudaDriver.cuDeviceTotalMem_v2(&total, device));
        TotalMemory = (long)total;
    }

    /// <summary>Ordinal passed to <see cref="Open"/>.</summary>
    public int Ordinal { get; }

    /// <summary>The driver's <c>CUdevice</c>.</summary>
    public int Device { get; }

    /// <summary>The retained primary context (<c>CUcontext</c>).</summary>
    public IntPtr Context { get; }

    public string Name { get; }

    public (int Major, int Minor) ComputeCapability { get; }

    /// <summary>NVRTC/ptxas architecture name, e.g. <c>sm_90</c>.</summary>
    public string Arch => $"sm_{ComputeCapability.Major}{ComputeCapability.Minor}";

    public int MultiprocessorCount { get; }

    /// <summary>Device memory in bytes.</summary>
    public long TotalMemory { get; }

    /// <summary>Initialises the driver, retains device <paramref name="ordinal"/>'s primary context and makes it current.</summary>
    public static CudaDevice Open(int ordinal = 0)
    {
        CudaDriver.Check(CudaDriver.cuInit(0));
        int count;
        CudaDriver.Check(CudaDriver.cuDeviceGetCount(&count));
        if (ordinal < 0 || ordinal >= count)
        {
            throw new ArgumentOutOfRangeException(
                nameof(ordinal),
                ordinal,
                $"CudaDevice.Open: device {ordinal} requested but the driver reports {count} device(s)"
            );
        }
        int device;
        CudaDriver.Check(CudaDriver.cuDeviceGet(&device, ordinal));
        IntPtr context;
        CudaDriver.Check(CudaDriver.cuDevicePrimaryCtxRetain(&context, device));
        CudaDriver.Check(CudaDriver.cuCtxSetCurrent(context));
        return new CudaDevice(ordinal, device, context);
    }

    /// <summary>Reads one <c>cuDeviceGetAttribute</c>.</summary>
    public int Attribute(CUdevice_attribute attribute)
    {
        int value;
        CudaDriver.Check(CudaDriver.cuDeviceGetAttribute(&value, attribute, Device));
        return value;
    }

    /// <summary>Binds this device's context to the calling thread.</summary>
    public void MakeCurrent()
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        CudaDriver.Check(CudaDriver.cuCtxSetCurrent(Context));
    }

    /// <summary>Waits for all work on the device (<c>cuCtxSynchronize</c>).</summary>
    public void Synchronize()
    {
        MakeCurrent();
        CudaDriver.Check(CudaDriver.cuCtxSynchronize());
    }

    /// <summary>Free and total device memory as the driver sees it (<c>cuMemGetInfo_v2</c>).</summary>
    public (long Free, long Total) MemoryInfo()
    {
        MakeCurrent();
        nuint free,
            total;
        CudaDriver.Check(CudaDriver.cuMemGetInfo_v2(&free, &total));
        return ((long)free, (long)total);
    }

    public override string ToString() =>
        $"{Name} ({Arch}, {MultiprocessorCount} SMs, {TotalMemory / (1024.0 * 1024 * 1024):F1} GiB)";

    public void Dispose()
    {
        if (!disposed)
        {
            disposed = true;
            _ = CudaDriver.cuDevicePrimaryCtxRelease_v2(Device);
        }
    }
}
