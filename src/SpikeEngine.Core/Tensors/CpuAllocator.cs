namespace SpikeEngine;

/// <summary>
/// Caching allocator for host tensors. Freed arrays are kept by exact element type and length and
/// handed out again: a training step allocates the same shapes every iteration, so after the first
/// step nothing reaches the garbage collector's large-object heap.
/// </summary>
public static class CpuAllocator
{
    private static readonly object s_lock = new();
    private static readonly Dictionary<(Type, int), Stack<Array>> s_free = [];
    private static long s_cachedBytes;

    /// <summary>Upper bound on bytes kept for reuse; beyond it freed arrays go to the GC.</summary>
    public static long CacheLimitBytes { get; set; } = 8L << 30;

    internal static MemoryStats Stats { get; } = MemoryStats.For(Device.Cpu);

    /// <summary>Allocates zero-filled storage (when <paramref name="zero"/>) or uninitialised storage.</summary>
    internal static CpuStorage Allocate(DType dtype, long length, bool zero)
    {
        var bytes = dtype.ByteCount(length);
        Array data = dtype switch
        {
            DType.Float32 => Rent<float>(length, zero),
            DType.BFloat16 or DType.Float16 => Rent<ushort>(length, zero),
            DType.Int32 => Rent<int>(length, zero),
            DType.UInt8 => Rent<byte>(length, zero),
            DType.Bit => Rent<byte>(bytes, zero),
            _ => throw new ArgumentOutOfRangeException(nameof(dtype)),
        };
        Stats.OnAlloc(bytes);
        return new CpuStorage(data, dtype, length);
    }

    private static T[] Rent<T>(long length, bool zero)
        where T : unmanaged
    {
        if (length > Array.MaxLength)
            throw new ArgumentException(
                $"cpu allocate: {length:N0} elements of {typeof(T).Name} exceed the largest host array ({Array.MaxLength:N0})",
                nameof(length)
            );
        var n = (int)length;
        lock (s_lock)
        {
            if (s_free.TryGetValue((typeof(T), n), out var stack) && stack.Count > 0)
            {
                var a = (T[])stack.Pop();
                s_cachedBytes -= (long)n * System.Runtime.CompilerServices.Unsafe.SizeOf<T>();
                Stats.SetCached(s_cachedBytes);
                if (zero)
                    Array.Clear(a);
                return a;
            }
        }
        return zero ? new T[n] : GC.AllocateUninitializedArray<T>(n);
    }

    internal static void Return(Array data, long bytes)
    {
        Stats.OnFree(bytes);
        var size =
            data.Length
            * (long)System.Runtime.InteropServices.Marshal.SizeOf(data.GetType().GetElementType()!);
        lock (s_lock)
        {
            if (s_cachedBytes + size > CacheLimitBytes)
                return;
            var key = (data.GetType().GetElementType()!, data.Length);
            if (!s_free.TryGetValue(key, out var stack))
                s_free[key] = stack = new Stack<Array>();
            stack.Push(data);
            s_cachedBytes += size;
            Stats.SetCached(s_cachedBytes);
        }
    }

    internal static void CountFinalized(long bytes) => Stats.OnFinalized(bytes);

    /// <summary>Drops every cached array, returning the memory to the garbage collector.</summary>
    public static void EmptyCache()
    {
        lock (s_lock)
        {
            s_free.Clear();
            s_cachedBytes = 0;
            Stats.SetCached(0);
        }
    }
}
