using SpikeEngine.Cuda.Memory;

namespace SpikeEngine.Cuda;

/// <summary>
/// Device memory of one CUDA tensor storage: a block from the backend's caching allocator,
/// returned to it when the last tensor referencing the storage is released. A storage left to
/// the GC is counted in <see cref="SpikeEngine.MemoryStats.LeakedByFinalizer"/> (the buffer's own
/// finalizer returns the block).
/// </summary>
public sealed class CudaStorage : Storage
{
    private readonly SpikeEngine.MemoryStats _stats;

    internal CudaStorage(Device device, DType dtype, long length, DeviceBuffer buffer)
        : base(device, dtype, length)
    {
        Buffer = buffer;
        _stats = SpikeEngine.MemoryStats.For(device);
        _stats.OnAlloc(Bytes);
    }

    /// <summary>The device memory (owned).</summary>
    public DeviceBuffer Buffer { get; }

    /// <summary>Device address of the first element.</summary>
    public ulong Pointer => Buffer.Pointer;

    protected override void Free()
    {
        Buffer.Dispose();
        _stats.OnFree(Bytes);
    }

    ~CudaStorage()
    {
        if (!IsFreed)
            _stats.OnFinalized(Bytes);
    }
}
