namespace SpikeEngine;

/// <summary>
/// A reference-counted block of device memory holding <see cref="Length"/> elements of
/// <see cref="DType"/>. Tensors and views share a storage; the last release frees it.
/// </summary>
public abstract class Storage
{
    private int _refs = 1;

    protected Storage(Device device, DType dtype, long length)
    {
        Device = device;
        DType = dtype;
        Length = length;
        Bytes = dtype.ByteCount(length);
        PeakTracker.OnCreate(this);
    }

    public Device Device { get; }
    public DType DType { get; }

    /// <summary>Number of elements.</summary>
    public long Length { get; }

    /// <summary>Size in bytes.</summary>
    public long Bytes { get; }

    /// <summary>Current number of references (tensors and views).</summary>
    public int RefCount => Volatile.Read(ref _refs);

    /// <summary>True once the last reference has been released.</summary>
    public bool IsFreed => Volatile.Read(ref _refs) <= 0;

    internal void Retain()
    {
        if (Interlocked.Increment(ref _refs) <= 1)
            throw new ObjectDisposedException(nameof(Storage), "retain of a freed storage");
    }

    internal void Release()
    {
        var r = Interlocked.Decrement(ref _refs);
        if (r == 0)
        {
            PeakTracker.OnFree(this);
            Free();
            GC.SuppressFinalize(this);
        }
        else if (r < 0)
            throw new ObjectDisposedException(
                nameof(Storage),
                "storage released more often than retained"
            );
    }

    /// <summary>Returns the memory to its allocator.</summary>
    protected abstract void Free();
}

/// <summary>Host memory: a managed array from the CPU caching allocator.</summary>
public sealed class CpuStorage : Storage
{
    internal CpuStorage(Array data, DType dtype, long length)
        : base(Device.Cpu, dtype, length)
    {
        Data = data;
    }

    /// <summary>The backing array (float[], ushort[], byte[] or int[] by dtype).</summary>
    internal Array Data { get; private set; }

    /// <summary>The elements as <typeparamref name="T"/>; the array may be longer than the storage.</summary>
    internal Span<T> Span<T>()
        where T : unmanaged => ((T[])Data).AsSpan(0, checked((int)ElementsOf<T>()));

    private long ElementsOf<T>()
        where T : unmanaged
    {
        var size = System.Runtime.CompilerServices.Unsafe.SizeOf<T>();
        return DType == DType.Bit ? Bytes : Bytes / size;
    }

    protected override void Free()
    {
        CpuAllocator.Return(Data, Bytes);
        Data = Array.Empty<byte>();
    }

    ~CpuStorage()
    {
        if (!IsFreed)
            CpuAllocator.CountFinalized(Bytes);
    }
}
