using System.Diagnostics;
using System.Runtime.InteropServices;
using SpikeEngine.Cuda.Interop;
using SpikeEngine.Cuda.Kernels;
using SpikeEngine.Cuda.Memory;

namespace SpikeEngine.Cuda.Tests;

/// <summary>
/// The CPU emulation of the kernels itself: its launch entries agree with
/// <see cref="KernelSignatures"/>, out-of-bounds accesses fail, and the builtins (barriers, warp
/// shuffles and ballots, atomics, <c>__shared__</c>) behave as on a GPU — checked with small
/// kernels compiled here against the same header and runtime, with hand-computed results.
/// </summary>
public sealed unsafe class EmulationTests
{
    /// <summary>The repository root (holding kernels/emulation), or a skip where the tests run without it (the GPU bundle).</summary>
    private static string RepositoryRoot()
    {
        for (
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            dir is not null;
            dir = dir.Parent
        )
        {
            if (
                File.Exists(Path.Combine(dir.FullName, EmulationEntries.Folder, "cuda_emulation.h"))
            )
                return dir.FullName;
        }
        Assert.Skip(
            $"the repository's {EmulationEntries.Folder} is not above {AppContext.BaseDirectory}"
        );
        return "";
    }

    [Fact]
    public void Committed_launch_entries_are_generated_from_KernelSignatures()
    {
        var folder = Path.Combine(RepositoryRoot(), EmulationEntries.Folder);
        var expected = EmulationEntries.Generate();
        foreach (var (name, text) in expected)
        {
            var path = Path.Combine(folder, name);
            Assert.True(
                File.Exists(path) && File.ReadAllText(path) == text,
                $"{path} is not what KernelSignatures generates: run `dotnet pwsh build.ps1 emulation-entries`"
            );
        }
        var stale = Directory
            .GetFiles(folder, "*.entries.cpp")
            .Select(Path.GetFileName)
            .Where(n => !expected.ContainsKey(n!))
            .ToArray();
        Assert.True(stale.Length == 0, $"stale launch entries: {string.Join(", ", stale)}");
        Assert.Equal(
            KernelSignatures.All.Count,
            expected.Values.Sum(t => t.Split("SPIKE_EMU_ENTRY(").Length - 1)
        );
    }

    [Fact]
    public void Every_kernel_has_a_launch_entry_in_the_library()
    {
        Requirements.Emulation();
        foreach (var name in KernelSignatures.All.Keys)
            Assert.NotEqual(
                IntPtr.Zero,
                CudaEmulationLibrary.Entry(EmulationEntries.ExportName(name))
            );
    }

    [Fact]
    public void Contraction_follows_the_fmad_option_of_the_GPU_build()
    {
        Requirements.Emulation();
        var gpuFmad = !NvrtcCompiler.Options.Contains("--fmad=false");
        Assert.True(
            gpuFmad == CudaEmulationLibrary.Fmad,
            $"NVRTC compiles with fmad={gpuFmad} ({string.Join(' ', NvrtcCompiler.Options)}) but the emulation library with fmad={CudaEmulationLibrary.Fmad}: set SpikeEmulationFmad in src/SpikeEngine.Cuda/Emulation.targets"
        );
    }

    private sealed class Rig : IDisposable
    {
        public EmulatedDevice Device { get; } = new();
        public CachingAllocator Allocator { get; }
        public CudaModule Elementwise { get; }
        public CudaModule Reduce { get; }

        public Rig()
        {
            Requirements.Emulation();
            Allocator = new CachingAllocator(Device.Memory);
            Elementwise = CudaModule.LoadEmulated(Device, "elementwise.cu");
            Reduce = CudaModule.LoadEmulated(Device, "reduce.cu");
        }

        public void Dispose()
        {
            Allocator.Dispose();
            Device.Dispose();
        }
    }

    [Fact]
    public void A_kernel_that_writes_past_the_end_of_a_buffer_fails_its_launch()
    {
        using var rig = new Rig();
        using var y = rig.Allocator.Allocate(10 * 4);
        var fill = rig.Elementwise.Function(KernelNames.EwFillF32);
        KernelLauncher.Launch(fill, 1, 32, CudaStream.Null, y, 2f, 10L);
        Assert.All(y.ToArray<float>(10), v => Assert.Equal(2f, v));
        var e = Assert.Throws<CudaException>(() =>
            KernelLauncher.Launch(fill, 1, 32, CudaStream.Null, y, 2f, 11L)
        );
        Assert.Equal(CUresult.CUDA_ERROR_ILLEGAL_ADDRESS, e.Status);
        Assert.Contains(KernelNames.EwFillF32, e.Message, StringComparison.Ordinal);
        Assert.Contains("40-byte buffer", e.Message, StringComparison.Ordinal);
        Assert.Contains("0 bytes past its end", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_kernel_that_writes_before_the_start_of_a_buffer_fails_its_launch()
    {
        using var rig = new Rig();
        using var y = rig.Allocator.Allocate(64 * 4);
        var fill = rig.Elementwise.Function(KernelNames.EwFillF32);
        var e = Assert.Throws<CudaException>(() =>
            KernelLauncher.Launch(
                fill,
                1,
                32,
                CudaStream.Null,
                KernelArg.Pointer(y.Pointer - 4),
                1f,
                4L
            )
        );
        Assert.Contains("4 bytes before its start", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_kernel_that_reads_past_the_end_of_a_buffer_computes_NaN()
    {
        using var rig = new Rig();
        using var x = rig.Allocator.Allocate(5 * 4);
        using var y = rig.Allocator.Allocate(4);
        x.CopyFrom<float>([1, 2, 3, 4, 5]);
        var sum = rig.Reduce.Function(KernelNames.RedSumRowsF32);
        KernelLauncher.Launch(sum, 1, 64, CudaStream.Null, x, y, 5);
        Assert.Equal(15f, y.ToArray<float>(1)[0]);
        KernelLauncher.Launch(sum, 1, 64, CudaStream.Null, x, y, 6);
        Assert.True(
            float.IsNaN(y.ToArray<float>(1)[0]),
            "the poisoned byte past the end reads as NaN"
        );
    }

    [Fact]
    public void Copies_outside_a_live_buffer_throw()
    {
        using var rig = new Rig();
        using var x = rig.Allocator.Allocate(8);
        var host = (IntPtr)NativeMemory.Alloc(16);
        try
        {
            var e = Assert.Throws<ArgumentOutOfRangeException>(() =>
                rig.Device.Memory.CopyToHost((void*)host, x.Pointer, 12)
            );
            Assert.Contains("8-byte buffer", e.Message, StringComparison.Ordinal);
            Assert.Throws<ArgumentOutOfRangeException>(() =>
                rig.Device.Memory.CopyToDevice(x.Pointer + 4, (void*)host, 8)
            );
            Assert.Throws<ArgumentOutOfRangeException>(() =>
                rig.Device.Memory.Fill8(x.Pointer + 8, 0, 1, IntPtr.Zero)
            );
        }
        finally
        {
            NativeMemory.Free((void*)host);
        }
    }

    // -- builtins, with kernels compiled here against the emulation header and runtime ----------

    private const string ProbeKernels = """
        #include "cuda_emulation.h"
        #include "common.cuh"

        extern "C" __global__ void probe_shuffle(float* out) {
            const float v = (float)threadIdx.x;
            out[threadIdx.x] = __shfl_xor_sync(0xffffffffu, v, 5);
        }
        extern "C" __global__ void probe_ballot(unsigned int* out) {
            const unsigned int b = __ballot_sync(0xffffffffu, threadIdx.x % 3 == 0);
            if ((threadIdx.x & 31) == 0) out[threadIdx.x >> 5] = b;
        }
        // one sum per block of (threadIdx.x + 1 + 1000 blockIdx.x), through shared memory
        extern "C" __global__ void probe_block_sum(float* out, int* count) {
            const int t = threadIdx.x;
            const float s = block_reduce_sum((float)(t + 1) + 1000.0f * blockIdx.x);
            if (t == 0) out[blockIdx.x + gridDim.x * blockIdx.y] = s;
            atomicAdd(count, 1);
        }
        extern "C" __global__ void probe_divergent_barrier(float* out) {
            if (threadIdx.x < 16) __syncthreads();
            out[threadIdx.x] = 1.0f;
        }
        extern "C" __global__ void probe_partial_warp(float* out) {
            float v = (float)threadIdx.x;
            if ((threadIdx.x & 31) < 16) v = __shfl_xor_sync(0xffffffffu, v, 1);
            out[threadIdx.x] = v;
        }

        SPIKE_EMU_ENTRY(probe_shuffle, SPIKE_EMU_P(0))
        SPIKE_EMU_ENTRY(probe_ballot, SPIKE_EMU_P(0))
        SPIKE_EMU_ENTRY(probe_block_sum, SPIKE_EMU_P(0), SPIKE_EMU_P(1))
        SPIKE_EMU_ENTRY(probe_divergent_barrier, SPIKE_EMU_P(0))
        SPIKE_EMU_ENTRY(probe_partial_warp, SPIKE_EMU_P(0))
        """;

    private static readonly Lazy<(IntPtr Handle, string? Error)> Probes = new(BuildProbes);

    private static (IntPtr, string?) BuildProbes()
    {
        var root = RepositoryRoot();
        var folder = Path.Combine(root, EmulationEntries.Folder);
        var dir = Directory.CreateTempSubdirectory("spike-emu-probe-").FullName;
        var source = Path.Combine(dir, "probe.cpp");
        File.WriteAllText(source, ProbeKernels);
        var library = Path.Combine(dir, "libprobe.so");
        var start = new ProcessStartInfo("g++")
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        };
        foreach (
            var a in new[]
            {
                "-std=c++17",
                "-O2",
                "-fPIC",
                "-shared",
                "-fvisibility=hidden",
                "-ffp-contract=off",
                "-I",
                folder,
                "-I",
                Path.Combine(root, "kernels"),
                "-o",
                library,
                Path.Combine(folder, "runtime.cpp"),
                source,
            }
        )
            start.ArgumentList.Add(a);
        try
        {
            using var p = Process.Start(start)!;
            var err = p.StandardError.ReadToEnd();
            p.WaitForExit();
            if (p.ExitCode != 0)
                return (IntPtr.Zero, $"g++ failed ({p.ExitCode}): {err}");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return (IntPtr.Zero, $"g++ not found: {e.Message}");
        }
        return (NativeLibrary.Load(library), null);
    }

    // Runs probe kernel `name` over the grid; returns null or the runtime's error message.
    private static string? Probe(
        string name,
        (uint X, uint Y, uint Z) grid,
        (uint X, uint Y, uint Z) block,
        params ulong[] args
    )
    {
        var (handle, error) = Probes.Value;
        if (handle == IntPtr.Zero)
        {
            if (Requirements.InCi)
                Assert.Fail("CI=true but " + error);
            Assert.Skip(error!);
        }
        var entry = NativeLibrary.GetExport(handle, EmulationEntries.ExportName(name));
        var lastError = NativeLibrary.GetExport(handle, "spike_emu_last_error");
        var config = CudaEmulationLibrary.LaunchConfig.Of(grid, block);
        var pointers = stackalloc void*[args.Length];
        fixed (ulong* values = args)
        {
            for (var i = 0; i < args.Length; i++)
                pointers[i] = values + i;
            var r = ((delegate* unmanaged<CudaEmulationLibrary.LaunchConfig*, void**, int>)entry)(
                &config,
                pointers
            );
            return r == 0
                ? null
                : Marshal.PtrToStringUTF8(((delegate* unmanaged<IntPtr>)lastError)());
        }
    }

    [Fact]
    public void Shuffle_xor_exchanges_values_between_lanes()
    {
        var out_ = new float[64];
        fixed (float* o = out_)
            Assert.Null(Probe("probe_shuffle", (1, 1, 1), (64, 1, 1), (ulong)o));
        for (var t = 0; t < 64; t++)
            Assert.Equal((float)(t ^ 5), out_[t]);
    }

    [Fact]
    public void Ballot_collects_one_bit_per_lane()
    {
        var out_ = new uint[3];
        fixed (uint* o = out_)
            Assert.Null(Probe("probe_ballot", (1, 1, 1), (96, 1, 1), (ulong)o));
        for (var w = 0; w < 3; w++)
        {
            uint expected = 0;
            for (var l = 0; l < 32; l++)
                if ((w * 32 + l) % 3 == 0)
                    expected |= 1u << l;
            Assert.Equal(expected, out_[w]);
        }
    }

    [Fact]
    public void Block_reduction_through_shared_memory_and_atomics_over_a_2d_grid()
    {
        // blocks of 96 threads (three warps), grid 3 x 2
        var sums = new float[6];
        var count = new int[1];
        fixed (float* s = sums)
        fixed (int* c = count)
            Assert.Null(Probe("probe_block_sum", (3, 2, 1), (96, 1, 1), (ulong)s, (ulong)c));
        for (var by = 0; by < 2; by++)
        for (var bx = 0; bx < 3; bx++)
            Assert.Equal(96 * 97 / 2 + 96 * 1000f * bx, sums[bx + 3 * by]);
        Assert.Equal(6 * 96, count[0]);
    }

    [Fact]
    public void A_barrier_not_every_thread_reaches_is_an_error_not_a_hang()
    {
        var out_ = new float[32];
        fixed (float* o = out_)
        {
            var error = Probe("probe_divergent_barrier", (1, 1, 1), (32, 1, 1), (ulong)o);
            Assert.NotNull(error);
            Assert.Contains("probe_divergent_barrier", error, StringComparison.Ordinal);
            Assert.Contains("__syncthreads", error, StringComparison.Ordinal);
            Assert.Contains("threads 0-15 wait in __syncthreads", error, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void A_warp_shuffle_that_misses_lanes_of_its_mask_is_reported_as_a_deadlock()
    {
        var out_ = new float[32];
        fixed (float* o = out_)
        {
            var error = Probe("probe_partial_warp", (1, 1, 1), (32, 1, 1), (ulong)o);
            Assert.NotNull(error);
            Assert.Contains("deadlock", error, StringComparison.Ordinal);
            Assert.Contains(
                "threads 0-15 wait in __shfl_xor_sync (mask 0xffffffff); threads 16-31 exited",
                error,
                StringComparison.Ordinal
            );
        }
    }

    [Fact]
    public void An_invalid_launch_configuration_is_refused()
    {
        var out_ = new float[1];
        fixed (float* o = out_)
        {
            var error = Probe("probe_shuffle", (1, 1, 1), (2048, 1, 1), (ulong)o);
            Assert.NotNull(error);
            Assert.Contains("invalid launch configuration", error, StringComparison.Ordinal);
        }
    }
}
