using System.Runtime.InteropServices;
using SpikeEngine.Cuda.Interop;

namespace SpikeEngine.Cuda.Memory;

/// <summary>
/// "Device" memory for the CPU emulation of the kernels: host memory whose addresses the
/// emulated kernels dereference directly. Every block is bounds-checked: it sits between
/// red zones, and each time the allocator lends it out the whole block is poisoned (0xFF: a NaN
/// as float or double, -1 as an integer), so a kernel that reads out of bounds or reads memory
/// nothing has written computes NaN, and one that writes out of bounds is reported by
/// <see cref="CheckRedZones"/> after the launch. Copies and fills must lie inside the allocated bytes
/// of one live block, or they throw.
/// </summary>
public sealed unsafe class HostMemorySource : IDeviceMemorySource, IDisposable
{
    /// <summary>Poisoned bytes before every block (and the alignment of block addresses, as cudaMalloc's).</summary>
    public const int RedZone = 256;

    /// <summary>How many poisoned bytes past the allocated end are checked after each launch.</summary>
    public const int CheckedTail = 1024;

    private const byte Poison = 0xFF;

    private sealed class Block(byte* start, long size)
    {
        public byte* Start { get; } = start;
        public long Size { get; } = size;
        public long Usable { get; set; } = size;
        public ulong Pointer => (ulong)Start;
    }

    private readonly Lock gate = new();
    private readonly SortedList<ulong, Block> blocks = [];
    private bool disposed;

    /// <summary>Bytes in live blocks.</summary>
    public long AllocatedBytes { get; private set; }

    public bool TryAllocate(long bytes, out ulong pointer)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bytes);
        byte* raw;
        try
        {
            raw = (byte*)NativeMemory.AlignedAlloc((nuint)(RedZone + bytes + RedZone), RedZone);
        }
        catch (OutOfMemoryException)
        {
            pointer = 0;
            return false;
        }
        new Span<byte>(raw, RedZone).Fill(Poison);
        FillPoison(raw + RedZone, bytes + RedZone);
        var block = new Block(raw + RedZone, bytes);
        lock (gate)
        {
            ObjectDisposedException.ThrowIf(disposed, this);
            blocks.Add(block.Pointer, block);
            AllocatedBytes += bytes;
        }
        pointer = block.Pointer;
        return true;
    }

    public void Free(ulong pointer)
    {
        lock (gate)
        {
            if (!blocks.Remove(pointer, out var block))
            {
                throw new InvalidOperationException(
                    $"HostMemorySource.Free: 0x{pointer:x} was not allocated here"
                );
            }
            AllocatedBytes -= block.Size;
            NativeMemory.AlignedFree(block.Start - RedZone);
        }
    }

    /// <summary>Emulated kernels run synchronously: nothing is ever queued.</summary>
    public void Synchronize() { }

    public void Lend(ulong pointer, long usableBytes)
    {
        lock (gate)
        {
            if (!blocks.TryGetValue(pointer, out var block) || usableBytes > block.Size)
            {
                throw new InvalidOperationException(
                    $"HostMemorySource.Lend: 0x{pointer:x} ({usableBytes} bytes) is not a live block that large"
                );
            }
            block.Usable = usableBytes;
            FillPoison(block.Start, block.Size + RedZone);
        }
    }

    public void CopyToDevice(ulong destination, void* source, long bytes)
    {
        if (bytes == 0)
            return;
        Range("CopyToDevice", "destination", destination, bytes);
        Buffer.MemoryCopy(source, (void*)destination, bytes, bytes);
    }

    public void CopyToHost(void* destination, ulong source, long bytes)
    {
        if (bytes == 0)
            return;
        Range("CopyToHost", "source", source, bytes);
        Buffer.MemoryCopy((void*)source, destination, bytes, bytes);
    }

    public void CopyOnDevice(ulong destination, ulong source, long bytes, IntPtr stream)
    {
        if (bytes == 0)
            return;
        Range("CopyOnDevice", "source", source, bytes);
        Range("CopyOnDevice", "destination", destination, bytes);
        Buffer.MemoryCopy((void*)source, (void*)destination, bytes, bytes);
    }

    public void Fill32(ulong destination, uint bits, long count, IntPtr stream)
    {
        if (count == 0)
            return;
        Range("Fill32", "destination", destination, count * 4);
        for (long done = 0; done < count; )
        {
            var n = (int)Math.Min(count - done, int.MaxValue);
            new Span<uint>((uint*)destination + done, n).Fill(bits);
            done += n;
        }
    }

    public void Fill8(ulong destination, byte value, long bytes, IntPtr stream)
    {
        if (bytes == 0)
            return;
        Range("Fill8", "destination", destination, bytes);
        NativeMemory.Fill((void*)destination, (nuint)bytes, value);
    }

    /// <summary>
    /// Throws if any live block's red zone or the first <see cref="CheckedTail"/> bytes past its
    /// allocated end changed: a kernel wrote out of bounds. The poison is restored so one fault is
    /// reported once. <paramref name="what"/> names the launch in the message.
    /// </summary>
    public void CheckRedZones(string what)
    {
        lock (gate)
        {
            foreach (var block in blocks.Values)
            {
                var head = new Span<byte>(block.Start - RedZone, RedZone);
                var tail = new Span<byte>(
                    block.Start + block.Usable,
                    (int)Math.Min(CheckedTail, block.Size - block.Usable + RedZone)
                );
                var h = head.IndexOfAnyExcept(Poison);
                var t = tail.IndexOfAnyExcept(Poison);
                if (h < 0 && t < 0)
                    continue;
                head.Fill(Poison);
                tail.Fill(Poison);
                var where =
                    h >= 0
                        ? $"{RedZone - h} bytes before its start"
                        : $"{t} bytes past its end (byte {block.Usable + t})";
                throw new CudaException(
                    CUresult.CUDA_ERROR_ILLEGAL_ADDRESS,
                    "CUDA_ERROR_ILLEGAL_ADDRESS",
                    what,
                    $"out-of-bounds write into the {block.Usable}-byte buffer at 0x{block.Pointer:x}, {where}"
                );
            }
        }
    }

    // The live block holding [pointer, pointer + bytes) within its allocated bytes, or an exception.
    private void Range(string op, string arg, ulong pointer, long bytes)
    {
        lock (gate)
        {
            ObjectDisposedException.ThrowIf(disposed, this);
            var keys = blocks.Keys;
            int lo = 0,
                hi = keys.Count - 1,
                found = -1;
            while (lo <= hi)
            {
                var mid = (lo + hi) >>> 1;
                if (keys[mid] <= pointer)
                {
                    found = mid;
                    lo = mid + 1;
                }
                else
                {
                    hi = mid - 1;
                }
            }
            var block = found >= 0 ? blocks.Values[found] : null;
            if (
                block is null
                || pointer - block.Pointer + (ulong)bytes > (ulong)block.Usable
                || bytes < 0
            )
            {
                var inside =
                    block is not null && pointer < block.Pointer + (ulong)block.Size
                        ? $"the {block.Usable}-byte buffer at 0x{block.Pointer:x} ends {block.Usable - (long)(pointer - block.Pointer)} bytes after it"
                        : "no live buffer contains it";
                throw new ArgumentOutOfRangeException(
                    arg,
                    $"HostMemorySource.{op}: {bytes} bytes at 0x{pointer:x} are out of bounds: {inside}"
                );
            }
        }
    }

    private static void FillPoison(byte* start, long bytes)
    {
        for (long done = 0; done < bytes; )
        {
            var n = (int)Math.Min(bytes - done, int.MaxValue);
            new Span<byte>(start + done, n).Fill(Poison);
            done += n;
        }
    }

    public void Dispose()
    {
        lock (gate)
        {
            if (disposed)
                return;
            disposed = true;
            foreach (var block in blocks.Values)
                NativeMemory.AlignedFree(block.Start - RedZone);
            blocks.Clear();
            AllocatedBytes = 0;
        }
    }
}
