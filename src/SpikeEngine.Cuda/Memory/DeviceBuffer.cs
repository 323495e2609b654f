using System.Runtime.InteropServices;
using SpikeEngine.Cuda.Interop;

namespace SpikeEngine.Cuda.Memory;

/// <summary>
/// A range of device memory. An owning buffer (from <see cref="CachingAllocator.Allocate"/>)
/// returns its block to the allocator on <see cref="Dispose"/>; views (<see cref="Slice"/>) never
/// free. A buffer left to the GC is still returned, and counted in
/// <see cref="MemoryStats.LeakedByFinalizer"/>.
/// </summary>
public sealed unsafe class DeviceBuffer : IDisposable
{
    private readonly CachingAllocator? owner;
    private readonly IDeviceMemorySource memory;
    private int disposed;

    internal DeviceBuffer(
        CachingAllocator owner,
        ulong pointer,
        long bytes,
        long blockSize,
        IntPtr stream
    )
    {
        this.owner = owner;
        memory = owner.Source;
        Pointer = pointer;
        Bytes = bytes;
        BlockSize = blockSize;
        Stream = stream;
        OwnsMemory = true;
    }

    private DeviceBuffer(IDeviceMemorySource memory, ulong pointer, long bytes, IntPtr stream)
    {
        this.memory = memory;
        Pointer = pointer;
        Bytes = bytes;
        BlockSize = bytes;
        Stream = stream;
        GC.SuppressFinalize(this);
    }

    ~DeviceBuffer()
    {
        if (OwnsMemory && Interlocked.Exchange(ref disposed, 1) == 0)
        {
            owner!.Release(Pointer, Stream, fromFinalizer: true);
        }
    }

    /// <summary>The device address (<c>CUdeviceptr</c>).</summary>
    public ulong Pointer { get; }

    /// <summary>Usable bytes (what was asked for).</summary>
    public long Bytes { get; }

    /// <summary>Bytes of the underlying block (the allocator's size class).</summary>
    public long BlockSize { get; }

    /// <summary>The stream the buffer is used on; its block is reused in that stream's order.</summary>
    public IntPtr Stream { get; }

    /// <summary>Whether disposing this buffer returns memory (false for views).</summary>
    public bool OwnsMemory { get; }

    public bool IsDisposed => Volatile.Read(ref disposed) != 0;

    /// <summary>A non-owning view of <paramref name="bytes"/> bytes from <paramref name="offset"/>.</summary>
    public DeviceBuffer Slice(long offset, long bytes)
    {
        if (offset < 0 || bytes < 0 || offset + bytes > Bytes)
        {
            throw new ArgumentOutOfRangeException(
                nameof(offset),
                $"DeviceBuffer.Slice: offset {offset} + bytes {bytes} outside a buffer of {Bytes} bytes"
            );
        }
        return new DeviceBuffer(memory, Pointer + (ulong)offset, bytes, Stream);
    }

    /// <summary>Synchronous host→device copy into the start of the buffer.</summary>
    public void CopyFrom<T>(ReadOnlySpan<T> source)
        where T : unmanaged
    {
        var bytes = (long)source.Length * sizeof(T);
        CheckSize(bytes, nameof(CopyFrom));
        fixed (T* p = source)
        {
            memory.CopyToDevice(Pointer, p, bytes);
        }
    }

    /// <summary>Synchronous device→host copy from the start of the buffer.</summary>
    public void CopyTo<T>(Span<T> destination)
        where T : unmanaged
    {
        var bytes = (long)destination.Length * sizeof(T);
        CheckSize(bytes, nameof(CopyTo));
        fixed (T* p = destination)
        {
            memory.CopyToHost(p, Pointer, bytes);
        }
    }

    /// <summary>Device→device copy of <paramref name="source"/> into this buffer, queued on <see cref="Stream"/>.</summary>
    public void CopyFrom(DeviceBuffer source)
    {
        CheckSize(source.Bytes, nameof(CopyFrom));
        memory.CopyOnDevice(Pointer, source.Pointer, source.Bytes, Stream);
    }

    /// <summary>Copies the first <paramref name="count"/> elements back as a new array.</summary>
    public T[] ToArray<T>(int count)
        where T : unmanaged
    {
        var a = new T[count];
        CopyTo<T>(a);
        return a;
    }

    /// <summary>Sets every byte to zero, queued on <see cref="Stream"/>.</summary>
    public void Clear() => memory.Fill8(Pointer, 0, Bytes, Stream);

    /// <summary>Sets every 32-bit word to <paramref name="bits"/> (e.g. a float's bits), queued on <see cref="Stream"/>.</summary>
    public void Fill32(uint bits)
    {
        if (Bytes % 4 != 0)
        {
            throw new InvalidOperationException(
                $"DeviceBuffer.Fill32: {Bytes} bytes is not a whole number of 32-bit words"
            );
        }
        memory.Fill32(Pointer, bits, Bytes / 4, Stream);
    }

    private void CheckSize(long bytes, string op)
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        if (bytes > Bytes)
        {
            throw new ArgumentException(
                $"DeviceBuffer.{op}: {bytes} bytes do not fit a buffer of {Bytes} bytes"
            );
        }
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref disposed, 1) == 0 && OwnsMemory)
        {
            owner!.Release(Pointer, Stream, fromFinalizer: false);
            GC.SuppressFinalize(this);
        }
    }
}

/// <summary>Page-locked host memory (<c>cuMemAllocHost_v2</c>) for fast and asynchronous uploads.</summary>
public sealed unsafe class PinnedHostBuffer : IDisposable
{
    private readonly PinnedHostHandle handle;

    private PinnedHostBuffer(PinnedHostHandle handle, long bytes)
    {
        this.handle = handle;
        Bytes = bytes;
    }

    public long Bytes { get; }

    public IntPtr Pointer => handle.DangerousGetHandle();

    public static PinnedHostBuffer Allocate(CudaDevice device, long bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bytes);
        device.MakeCurrent();
        void* p;
        CudaDriver.Check(CudaDriver.cuMemAllocHost_v2(&p, (nuint)bytes));
        return new PinnedHostBuffer(new PinnedHostHandle(device.Context, (IntPtr)p), bytes);
    }

    /// <summary>The memory as a span of <typeparamref name="T"/> (valid until disposal).</summary>
    public Span<T> AsSpan<T>()
        where T : unmanaged
    {
        ObjectDisposedException.ThrowIf(handle.IsClosed, this);
        return new Span<T>((void*)Pointer, checked((int)(Bytes / sizeof(T))));
    }

    /// <summary>Queues a copy of the first <paramref name="bytes"/> bytes to <paramref name="destination"/> on its stream.</summary>
    public void CopyToDeviceAsync(DeviceBuffer destination, long bytes)
    {
        if (bytes > Bytes || bytes > destination.Bytes)
        {
            throw new ArgumentException(
                $"PinnedHostBuffer.CopyToDeviceAsync: {bytes} bytes exceed the host ({Bytes}) or device ({destination.Bytes}) buffer"
            );
        }
        CudaDriver.Check(
            CudaDriver.cuMemcpyHtoDAsync_v2(
                destination.Pointer,
                (void*)Pointer,
                (nuint)bytes,
                destination.Stream
            )
        );
    }

    /// <summary>Queues a copy of the first <paramref name="bytes"/> of <paramref name="source"/> into this buffer.</summary>
    public void CopyFromDeviceAsync(DeviceBuffer source, long bytes)
    {
        if (bytes > Bytes || bytes > source.Bytes)
        {
            throw new ArgumentException(
                $"PinnedHostBuffer.CopyFromDeviceAsync: {bytes} bytes exceed the host ({Bytes}) or device ({source.Bytes}) buffer"
            );
        }
        CudaDriver.Check(
            CudaDriver.cuMemcpyDtoHAsync_v2(
                (void*)Pointer,
                source.Pointer,
                (nuint)bytes,
                source.Stream
            )
        );
    }

    public void Dispose() => handle.Dispose();
}
