using SpikeEngine.Cuda.Interop;
using SpikeEngine.Cuda.Memory;

namespace SpikeEngine.Cuda.Kernels;

/// <summary>One kernel argument: a type tag and its bits (8 bytes, the widest parameter).</summary>
public readonly struct KernelArg
{
    private KernelArg(KernelParamType type, ulong bits)
    {
        Type = type;
        Bits = bits;
    }

    public KernelParamType Type { get; }

    public ulong Bits { get; }

    /// <summary>A null device pointer, for optional tensors.</summary>
    public static KernelArg Null => new(KernelParamType.Pointer, 0);

    public static KernelArg Pointer(ulong devicePointer) =>
        new(KernelParamType.Pointer, devicePointer);

    public static implicit operator KernelArg(DeviceBuffer? buffer) =>
        new(KernelParamType.Pointer, buffer?.Pointer ?? 0);

    public static implicit operator KernelArg(int value) =>
        new(KernelParamType.Int32, unchecked((uint)value));

    public static implicit operator KernelArg(long value) =>
        new(KernelParamType.Int64, unchecked((ulong)value));

    public static implicit operator KernelArg(float value) =>
        new(KernelParamType.Float32, BitConverter.SingleToUInt32Bits(value));

    public static implicit operator KernelArg(bool value) =>
        new(KernelParamType.Int32, value ? 1u : 0u);

    public override string ToString() =>
        Type switch
        {
            KernelParamType.Pointer => $"0x{Bits:x}",
            KernelParamType.Float32 => BitConverter
                .UInt32BitsToSingle((uint)Bits)
                .ToString(System.Globalization.CultureInfo.InvariantCulture),
            KernelParamType.Int32 => ((int)(uint)Bits).ToString(
                System.Globalization.CultureInfo.InvariantCulture
            ),
            _ => ((long)Bits).ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
}

/// <summary>
/// Launches kernels after checking the arguments against <see cref="KernelSignatures"/>, on the
/// GPU (<c>cuLaunchKernel</c>) or, for a function of the CPU emulation, through the same argument
/// array on <see cref="EmulatedDevice"/>. Counts launches (the parity tests' proof that the CUDA
/// path ran). With <c>SPIKEENGINE_CUDA_SYNC=1</c>
/// every launch synchronises and a fault is reported with the kernel's name.
/// </summary>
public static unsafe class KernelLauncher
{
    public const string SyncVariable = "SPIKEENGINE_CUDA_SYNC";

    private static long launches;

    /// <summary>Whether launches synchronise and check (<c>SPIKEENGINE_CUDA_SYNC=1</c>, read once).</summary>
    public static bool SyncAfterLaunch { get; set; } =
        Environment.GetEnvironmentVariable(SyncVariable) == "1";

    [ThreadStatic]
    private static long t_launches;

    /// <summary>Kernels launched by this process.</summary>
    public static long LaunchCount => Interlocked.Read(ref launches);

    /// <summary>Kernels launched from the calling thread (a sentinel that tests running in parallel can't disturb).</summary>
    public static long ThreadLaunchCount => t_launches;

    /// <summary>The name of the most recent kernel launched (for error messages).</summary>
    public static string? LastKernel { get; private set; }

    /// <summary>Blocks for <paramref name="n"/> threads at <paramref name="blockSize"/> each.</summary>
    public static uint GridFor(long n, int blockSize) =>
        (uint)Math.Max(1, (n + blockSize - 1) / blockSize);

    /// <summary>Checks <paramref name="args"/> against the kernel's signature; throws naming the kernel, argument and types.</summary>
    public static void Validate(KernelSignature signature, ReadOnlySpan<KernelArg> args)
    {
        if (args.Length != signature.Params.Count)
        {
            throw new ArgumentException(
                $"{signature.Name}: {args.Length} arguments given, the kernel takes {signature.Params.Count} "
                    + $"({string.Join(", ", signature.Params.Select(p => p.Name))})"
            );
        }
        for (var i = 0; i < args.Length; i++)
        {
            var p = signature.Params[i];
            if (args[i].Type != p.Type)
            {
                throw new ArgumentException(
                    $"{signature.Name}: argument {i} ({p.Name}) expects {p.Type}, got {args[i].Type} {args[i]}"
                );
            }
        }
    }

    /// <summary>Launches a 1-D grid of <paramref name="grid"/> blocks of <paramref name="block"/> threads on <paramref name="stream"/>.</summary>
    public static void Launch(
        CudaFunction function,
        uint grid,
        uint block,
        CudaStream stream,
        params ReadOnlySpan<KernelArg> args
    ) => Launch(function, (grid, 1, 1), (block, 1, 1), 0, stream, args);

    /// <summary>Launches with full 3-D dimensions and dynamic shared memory.</summary>
    public static void Launch(
        CudaFunction function,
        (uint X, uint Y, uint Z) grid,
        (uint X, uint Y, uint Z) block,
        uint sharedBytes,
        CudaStream stream,
        ReadOnlySpan<KernelArg> args
    )
    {
        Validate(function.Signature, args);
        var values = stackalloc ulong[args.Length];
        var pointers = stackalloc void*[args.Length];
        for (var i = 0; i < args.Length; i++)
        {
            values[i] = args[i].Bits; // little-endian: a 4-byte parameter reads the low half
            pointers[i] = &values[i];
        }
        LastKernel = function.Name;
        Interlocked.Increment(ref launches);
        t_launches++;
        if (function.Emulator is { } emulator)
        {
            emulator.Launch(function, grid, block, sharedBytes, pointers);
            return;
        }
        CudaDriver.LastLaunchedKernel = function.Name;
        CudaDriver.Check(
            CudaDriver.cuLaunchKernel(
                function.Handle,
                grid.X,
                grid.Y,
                grid.Z,
                block.X,
                block.Y,
                block.Z,
                sharedBytes,
                stream.Handle,
                pointers,
                null
            ),
            $"cuLaunchKernel({function.Name}, grid ({grid.X},{grid.Y},{grid.Z}), block ({block.X},{block.Y},{block.Z}))"
        );
        if (SyncAfterLaunch)
        {
            var r = CudaDriver.cuStreamSynchronize(stream.Handle);
            if (r != CUresult.CUDA_SUCCESS)
            {
                throw new CudaException(
                    r,
                    CudaDriver.ErrorName(r),
                    $"cuStreamSynchronize after kernel {function.Name} ({SyncVariable}=1)",
                    $"kernel {function.Name} faulted; arguments: {string.Join(", ", args.ToArray().Select((a, i) => $"{function.Signature.Params[i].Name}={a}"))}"
                );
            }
        }
    }

    /// <summary>The block size the occupancy calculator suggests for <paramref name="function"/>.</summary>
    public static int SuggestedBlockSize(CudaFunction function, int limit = 1024)
    {
        int minGrid,
            block;
        CudaDriver.Check(
            CudaDriver.cuOccupancyMaxPotentialBlockSize(
                &minGrid,
                &block,
                function.Handle,
                IntPtr.Zero,
                0,
                limit
            )
        );
        return block;
    }
}
