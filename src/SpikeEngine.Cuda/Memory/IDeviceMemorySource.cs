using SpikeEngine.Cuda.Interop;

namespace SpikeEngine.Cuda.Memory;

/// <summary>
/// Where the caching allocator gets raw device memory, and how that memory is copied and filled:
/// the driver (<see cref="DriverMemorySource"/>), host memory for the CPU emulation of the
/// kernels (<see cref="HostMemorySource"/>), or a fake in tests.
/// </summary>
public unsafe interface IDeviceMemorySource
{
    /// <summary>Allocates <paramref name="bytes"/>; false when the device is out of memory, throws on any other failure.</summary>
    bool TryAllocate(long bytes, out ulong pointer);

    /// <summary>Returns a block from <see cref="TryAllocate"/>.</summary>
    void Free(ulong pointer);

    /// <summary>Waits until all queued work that may use freed blocks has finished.</summary>
    void Synchronize();

    /// <summary>The allocator hands out the first <paramref name="usableBytes"/> of block <paramref name="pointer"/> (for bounds checking).</summary>
    void Lend(ulong pointer, long usableBytes) { }

    /// <summary>Synchronous copy of <paramref name="bytes"/> from host memory to <paramref name="destination"/>.</summary>
    void CopyToDevice(ulong destination, void* source, long bytes);

    /// <summary>Synchronous copy of <paramref name="bytes"/> from <paramref name="source"/> to host memory (after queued work).</summary>
    void CopyToHost(void* destination, ulong source, long bytes);

    /// <summary>Device-to-device copy queued on <paramref name="stream"/>.</summary>
    void CopyOnDevice(ulong destination, ulong source, long bytes, IntPtr stream);

    /// <summary>Sets <paramref name="count"/> 32-bit words at <paramref name="destination"/> to <paramref name="bits"/>, queued on <paramref name="stream"/>.</summary>
    void Fill32(ulong destination, uint bits, long count, IntPtr stream);

    /// <summary>Sets <paramref name="bytes"/> bytes at <paramref name="destination"/> to <paramref name="value"/>, queued on <paramref name="stream"/>.</summary>
    void Fill8(ulong destination, byte value, long bytes, IntPtr stream);
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

    public void CopyToDevice(ulong destination, void* source, long bytes)
    {
        device.MakeCurrent();
        CudaDriver.Check(CudaDriver.cuMemcpyHtoD_v2(destination, source, (nuint)bytes));
    }

    public void CopyToHost(void* destination, ulong source, long bytes)
    {
        device.MakeCurrent();
        CudaDriver.Check(CudaDriver.cuMemcpyDtoH_v2(destination, source, (nuint)bytes));
    }

    public void CopyOnDevice(ulong destination, ulong source, long bytes, IntPtr stream)
    {
        device.MakeCurrent();
        CudaDriver.Check(
            CudaDriver.cuMemcpyDtoDAsync_v2(destination, source, (nuint)bytes, stream)
        );
    }

    public void Fill32(ulong destination, uint bits, long count, IntPtr stream)
    {
        device.MakeCurrent();
        CudaDriver.Check(CudaDriver.cuMemsetD32Async(destination, bits, (nuint)count, stream));
    }

    public void Fill8(ulong destination, byte value, long bytes, IntPtr stream)
    {
        device.MakeCurrent();
        CudaDriver.Check(CudaDriver.cuMemsetD8Async(destination, value, (nuint)bytes, stream));
    }
}
