using SpikeEngine.Cuda.Memory;

namespace SpikeEngine.Cuda.Tests;

/// <summary>The caching allocator's policy, over a fake device with a fixed capacity (no GPU).</summary>
public sealed class CachingAllocatorTests
{
    // Addresses without memory behind them: the policy never copies or fills.
    private sealed unsafe class FakeDevice(long capacity) : IDeviceMemorySource
    {
        private readonly Dictionary<ulong, long> blocks = [];
        private ulong next = 0x1000_0000;

        public long Used { get; private set; }

        public int Allocations { get; private set; }

        public int Frees { get; private set; }

        public int Syncs { get; private set; }

        public bool TryAllocate(long bytes, out ulong pointer)
        {
            pointer = 0;
            if (Used + bytes > capacity)
            {
                return false;
            }
            pointer = next;
            next += (ulong)bytes + 256;
            blocks[pointer] = bytes;
            Used += bytes;
            Allocations++;
            return true;
        }

        public void Free(ulong pointer)
        {
            Assert.True(
                blocks.Remove(pointer, out var bytes),
                $"double or foreign free of 0x{pointer:x}"
            );
            Used -= bytes;
            Frees++;
        }

        public void Synchronize() => Syncs++;

        private static NotSupportedException NoMemory() =>
            new("FakeDevice: its addresses have no memory behind them");

        public void CopyToDevice(ulong destination, void* source, long bytes) => throw NoMemory();

        public void CopyToHost(void* destination, ulong source, long bytes) => throw NoMemory();

        public void CopyOnDevice(ulong destination, ulong source, long bytes, IntPtr stream) =>
            throw NoMemory();

        public void Fill32(ulong destination, uint bits, long count, IntPtr stream) =>
            throw NoMemory();

        public void Fill8(ulong destination, byte value, long bytes, IntPtr stream) =>
            throw NoMemory();
    }

    [Theory]
    [InlineData(0, 512)]
    [InlineData(1, 512)]
    [InlineData(512, 512)]
    [InlineData(513, 1024)]
    [InlineData(1 << 20, 1 << 20)]
    [InlineData((1 << 20) + 1, 2 << 20)]
    [InlineData((5 << 20) + 7, 6 << 20)]
    public void Sizes_round_into_bins(long bytes, long expected) =>
        Assert.Equal(expected, CachingAllocator.RoundSize(bytes));

    [Fact]
    public void A_freed_block_is_reused_on_the_same_stream_without_a_device_call()
    {
        var device = new FakeDevice(1 << 30);
        using var alloc = new CachingAllocator(device);
        var a = alloc.Allocate(1000);
        var pointer = a.Pointer;
        a.Dispose();
        Assert.Equal(0, alloc.Stats.CurrentBytes);
        Assert.Equal(1024, alloc.Stats.ReservedBytes);
        using var b = alloc.Allocate(700); // same 1024-byte bin
        Assert.Equal(pointer, b.Pointer);
        Assert.Equal(1, device.Allocations);
        Assert.Equal(1, alloc.Stats.CacheHits);
        Assert.Equal(0, device.Syncs);
    }

    [Fact]
    public void Blocks_are_not_shared_across_streams()
    {
        var device = new FakeDevice(1 << 30);
        using var alloc = new CachingAllocator(device);
        alloc.Allocate(4096, stream: 1).Dispose();
        using var other = alloc.Allocate(4096, stream: 2);
        Assert.Equal(2, device.Allocations);
        using var same = alloc.Allocate(4096, stream: 1);
        Assert.Equal(2, device.Allocations);
    }

    [Fact]
    public void Large_requests_take_a_close_fit_but_not_a_wasteful_one()
    {
        var device = new FakeDevice(1L << 34);
        using var alloc = new CachingAllocator(device);
        alloc.Allocate(64L << 20).Dispose();
        using (var close = alloc.Allocate(62L << 20)) // 62 MiB in a 64 MiB block wastes < 1/8
        {
            Assert.Equal(1, device.Allocations);
        }
        using var small = alloc.Allocate(8L << 20); // 8 MiB would waste 56 MiB: new block
        Assert.Equal(2, device.Allocations);
    }

    [Fact]
    public void Stats_track_current_peak_reserved_and_live_count()
    {
        var device = new FakeDevice(1 << 30);
        using var alloc = new CachingAllocator(device);
        var a = alloc.Allocate(3 << 20);
        var b = alloc.Allocate(1000);
        Assert.Equal((4L << 20) + 1024, alloc.Stats.CurrentBytes);
        Assert.Equal(2, alloc.Stats.LiveCount);
        a.Dispose();
        var s = alloc.Stats;
        Assert.Equal(1024, s.CurrentBytes);
        Assert.Equal((4L << 20) + 1024, s.PeakBytes);
        Assert.Equal((4L << 20) + 1024, s.ReservedBytes);
        Assert.Equal(1, s.LiveCount);
        alloc.EmptyCache();
        Assert.Equal(1024, alloc.Stats.ReservedBytes);
        Assert.Equal(1, device.Frees);
        Assert.Equal(1, device.Syncs);
        b.Dispose();
        alloc.ResetPeak();
        Assert.Equal(0, alloc.Stats.PeakBytes);
    }

    [Fact]
    public void Out_of_memory_empties_the_cache_and_retries_before_failing()
    {
        var device = new FakeDevice(10 << 20);
        using var alloc = new CachingAllocator(device);
        alloc.Allocate(6 << 20).Dispose(); // cached, 6 MiB reserved
        using var big = alloc.Allocate(8 << 20); // needs the cache emptied first
        Assert.Equal(8L << 20, alloc.Stats.ReservedBytes);
        Assert.Equal(1, device.Frees);
    }

    [Fact]
    public void Out_of_memory_states_requested_current_peak_reserved_and_the_remedies()
    {
        var device = new FakeDevice(10 << 20);
        using var alloc = new CachingAllocator(device);
        using var held = alloc.Allocate(6 << 20);
        var e = Assert.Throws<CudaOutOfMemoryException>(() => alloc.Allocate(5L << 20));
        Assert.Equal(5L << 20, e.RequestedBytes);
        Assert.Contains("tried to allocate 5.00 MiB (5242880 bytes)", e.Message);
        Assert.Contains("current 6.00 MiB, peak 6.00 MiB, reserved 6.00 MiB", e.Message);
        Assert.Contains("smaller batch", e.Message);
        Assert.Contains("lean memory layout", e.Message);
        Assert.Equal("CUDA_ERROR_OUT_OF_MEMORY", e.ErrorName);
    }

    [Fact]
    public void Views_never_free_and_double_dispose_is_harmless()
    {
        var device = new FakeDevice(1 << 30);
        using var alloc = new CachingAllocator(device);
        var a = alloc.Allocate(4096);
        var view = a.Slice(1024, 1024);
        Assert.False(view.OwnsMemory);
        Assert.Equal(a.Pointer + 1024, view.Pointer);
        view.Dispose();
        Assert.Equal(1, alloc.Stats.LiveCount);
        a.Dispose();
        a.Dispose();
        Assert.Equal(0, alloc.Stats.LiveCount);
        Assert.Throws<ArgumentOutOfRangeException>(() => a.Slice(4000, 200));
    }

    [Fact]
    public void A_buffer_left_to_the_finalizer_is_returned_and_counted_as_a_leak()
    {
        var device = new FakeDevice(1 << 30);
        using var alloc = new CachingAllocator(device);
        Leak(alloc);
        for (var i = 0; i < 5 && alloc.Stats.LeakedByFinalizer == 0; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }
        Assert.Equal(1, alloc.Stats.LeakedByFinalizer);
        Assert.Equal(0, alloc.Stats.LiveCount);
    }

    [System.Runtime.CompilerServices.MethodImpl(
        System.Runtime.CompilerServices.MethodImplOptions.NoInlining
    )]
    private static void Leak(CachingAllocator alloc) => _ = alloc.Allocate(2048);
}
