using System.Collections.Concurrent;
using System.Runtime.InteropServices;

namespace SpikeEngine.Cuda.Interop;

/// <summary>
/// The CPU emulation library of the kernels (<c>libspike_cuda_emulation.so</c>, built from
/// <c>kernels/emulation/</c> next to this assembly): one export per kernel,
/// <c>int spike_emu_&lt;kernel&gt;(const LaunchConfig*, void** args)</c> with
/// <c>cuLaunchKernel</c>'s argument array, returning 0 or -1 with the message in
/// <c>spike_emu_last_error()</c> (per OS thread).
/// </summary>
public static unsafe class CudaEmulationLibrary
{
    /// <summary>The library's file name (in the assembly's folder).</summary>
    public const string FileName = "libspike_cuda_emulation.so";

    /// <summary>Grid, block and dynamic shared memory of one launch (the library's <c>launch_config</c>).</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct LaunchConfig
    {
        public uint GridX,
            GridY,
            GridZ,
            BlockX,
            BlockY,
            BlockZ,
            SharedBytes;

        /// <summary>The configuration of a launch with these dimensions.</summary>
        public static LaunchConfig Of(
            (uint X, uint Y, uint Z) grid,
            (uint X, uint Y, uint Z) block,
            uint sharedBytes = 0
        ) =>
            new()
            {
                GridX = grid.X,
                GridY = grid.Y,
                GridZ = grid.Z,
                BlockX = block.X,
                BlockY = block.Y,
                BlockZ = block.Z,
                SharedBytes = sharedBytes,
            };
    }

    private static readonly Lazy<(IntPtr Handle, string? Reason)> State = new(Load);
    private static readonly ConcurrentDictionary<string, IntPtr> Entries = new(
        StringComparer.Ordinal
    );

    /// <summary>Where the library is looked for.</summary>
    public static string Path => System.IO.Path.Combine(AppContext.BaseDirectory, FileName);

    /// <summary>Whether the library loaded.</summary>
    public static bool IsLoadable => State.Value.Handle != IntPtr.Zero;

    /// <summary>Why it did not load (null when it did).</summary>
    public static string? UnavailableReason => State.Value.Reason;

    /// <summary>Whether the library contracts a*b+c into FMAs (the GPU build's <c>--fmad=true</c>).</summary>
    public static bool Fmad => ((delegate* unmanaged<int>)Export("spike_emu_fmad"))() != 0;

    /// <summary>The launch entry of <paramref name="entry"/> (e.g. <c>spike_emu_neuron_fwd_f32</c>); throws naming it when absent.</summary>
    public static IntPtr Entry(string entry) =>
        Entries.GetOrAdd(entry, static name => Export(name));

    /// <summary>Runs the entry over the grid; returns null, or the library's error message.</summary>
    public static string? Launch(IntPtr entry, in LaunchConfig config, void** args)
    {
        int r;
        fixed (LaunchConfig* c = &config)
            r = ((delegate* unmanaged<LaunchConfig*, void**, int>)entry)(c, args);
        if (r == 0)
            return null;
        var message = Marshal.PtrToStringUTF8(
            ((delegate* unmanaged<IntPtr>)Export("spike_emu_last_error"))()
        );
        return string.IsNullOrEmpty(message) ? $"launch failed with {r}" : message;
    }

    private static IntPtr Export(string name)
    {
        var handle = State.Value.Handle;
        if (handle == IntPtr.Zero)
            throw new InvalidOperationException($"CudaEmulationLibrary: {State.Value.Reason}");
        return NativeLibrary.TryGetExport(handle, name, out var p)
            ? p
            : throw new EntryPointNotFoundException(
                $"CudaEmulationLibrary: {Path} has no export {name}; rebuild SpikeEngine.Cuda"
            );
    }

    private static (IntPtr, string?) Load()
    {
        if (!OperatingSystem.IsLinux())
            return (IntPtr.Zero, "the CUDA emulation library is built on Linux only");
        if (!File.Exists(Path))
            return (
                IntPtr.Zero,
                $"{Path} is missing: it is built with SpikeEngine.Cuda when g++ is installed (Debian: apt-get install g++)"
            );
        try
        {
            return (NativeLibrary.Load(Path), null);
        }
        catch (DllNotFoundException e)
        {
            return (IntPtr.Zero, $"{Path} does not load: {e.Message}");
        }
    }
}
