using SpikeEngine.Cuda.Interop;

namespace SpikeEngine.Cuda.Memory;

/// <summary>Where the caching allocator gets raw device memory: the driver, or a fake in tests.</summary>
public interface IDeviceMemorySource
{
    /// <summary>Allocates <paramref name="bytes"/>; false when the device is out of memory, throws on any other failure.</summary>
    bool TryAllocate(long bytes, out ulong pointer);

    /// <summary>Returns a block from <see cref="TryAllocate"/>.</summary>
    void Free(ulong pointer);

    /// <summary>Waits until all queued work that may use freed blocks has finished.</summary>
    void Synchronize();
}

/// <summary>Raw <c>cuMemAlloc_v2</c>/<c>cuMemFree_v2</c> in one device's context; each block is a <see cref="DevicePtrHandle"/>.</summary>
public sealed unsafe class DriverMemorySource(CudaDevice device) : IDeviceMemorySource
{
    private readonly Dictionary<ulong, DevicePtrHandle> blocks = [];

    public bool TryAllocate(long bytes, out ulong pointer)
    {
        device.MakeCurrent();
        ulong p;
        var r = CudaDriver.cuMemAlloc_v2(&p, (nuint)bytes);
        if (r == CUresult.CUDA_ERROR_OUT_OF_MEMORY)
        {
            pointer = 0;
            return false;
        }
        CudaDriver.Check(r, $"cuMemAlloc_v2(&p, {bytes})");
        lock (blocks)
        {
            blocks.Add(p, new DevicePtrHandle(device.Context, p));
        }
        pointer = p;
        return true;
    }

    public void Free(ulong pointer)
    {
        DevicePtrHandle? h;
        lock (blocks)
        {
            blocks.Remove(pointer, out h);
        }
        if (h is null)
        {
            throw new InvalidOperationException(
                $"DriverMemorySource.Free: 0x{pointer:x} was not allocated here"
            );
        }
        h.Dispose();
    }

    public void Synchronize() => device.Synchronize();
}
