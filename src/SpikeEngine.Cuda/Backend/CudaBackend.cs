using SpikeEngine.Cuda.Interop;
using SpikeEngine.Cuda.Kernels;
using SpikeEngine.Cuda.Memory;

namespace SpikeEngine.Cuda;

/// <summary>
/// The CUDA implementation of Core's <see cref="IBackend"/> for one device: our kernels
/// (kernels/*.cu, compiled by NVRTC at first use) for everything spiking-specific and
/// elementwise, cuBLAS for GEMM, cuDNN for convolutions. All work is queued on the legacy
/// default stream in call order; copies to the host wait for it. Memory comes from a
/// <see cref="CachingAllocator"/>. Register it with <see cref="Register"/> so
/// <c>Device.Cuda(i)</c> tensors find it.
/// </summary>
public sealed unsafe partial class CudaBackend : IBackend, IDisposable
{
    private const int Block = 256;

    private static readonly Dictionary<int, CudaBackend> s_backends = [];

    [ThreadStatic]
    private static long t_libraryCalls;

    private readonly Dictionary<string, CudaModule> _modules = new(StringComparer.Ordinal);
    private readonly Lock _libraryGate = new();
    private readonly int _maxGrid;
    private bool _disposed;

    private CudaBackend(int ordinal)
    {
        Device = Device.Cuda(ordinal);
        if (CudaRuntime.IsEmulated)
        {
            if (ordinal != 0)
                throw new ArgumentOutOfRangeException(
                    nameof(ordinal),
                    ordinal,
                    $"CudaBackend: the CPU emulation ({CudaRuntime.EmulateVariable}=1) has one device, cuda:0"
                );
            Emulator = new EmulatedDevice();
            Allocator = new CachingAllocator(Emulator.Memory);
            _maxGrid = MultiprocessorCount * 16;
        }
        else
        {
            Gpu = CudaDevice.Open(ordinal);
            Allocator = new CachingAllocator(new DriverMemorySource(Gpu));
            _maxGrid = Math.Max(1, MultiprocessorCount * 16);
        }
        AllowTf32 = Environment.GetEnvironmentVariable(Tf32Variable) == "1";
    }

    /// <summary>Set to 1 to let cuDNN use TF32 tensor cores for fp32 convolutions (faster, ~1e-3 relative error).</summary>
    public const string Tf32Variable = "SPIKEENGINE_CUDA_TF32";

    /// <summary>Registers the CUDA backend with Core (<c>Backends.For(Device.Cuda(i))</c>); call once at startup when <see cref="CudaRuntime.IsAvailable"/>.</summary>
    public static void Register() => Backends.Register(DeviceKind.Cuda, For);

    /// <summary>The backend of CUDA device <paramref name="ordinal"/> (opened on first use).</summary>
    public static CudaBackend For(int ordinal)
    {
        lock (s_backends)
        {
            if (!s_backends.TryGetValue(ordinal, out var b))
            {
                if (!CudaRuntime.IsAvailable)
                    throw new InvalidOperationException(
                        $"CudaBackend: CUDA is unavailable ({CudaRuntime.UnavailableReason})"
                    );
                s_backends[ordinal] = b = new CudaBackend(ordinal);
            }
            return b;
        }
    }

    public Device Device { get; }

    /// <summary>The GPU and its primary context; null when the backend runs on the CPU emulation.</summary>
    public CudaDevice? Gpu { get; }

    /// <summary>The CPU emulation the kernels run on (<see cref="CudaRuntime.IsEmulated"/>); null on a GPU.</summary>
    public EmulatedDevice? Emulator { get; }

    /// <summary>Multiprocessors of the GPU (of the emulated device: <see cref="EmulatedDevice.MultiprocessorCount"/>); sizes grids.</summary>
    public int MultiprocessorCount =>
        Gpu?.MultiprocessorCount ?? EmulatedDevice.MultiprocessorCount;

    /// <summary>What executes this backend's work, for logs: the GPU, or the CPU emulation.</summary>
    public string DeviceDescription => Gpu?.ToString() ?? Emulator!.ToString();

    /// <summary>Where every storage and workspace of this backend comes from.</summary>
    public CachingAllocator Allocator { get; }

    // Copies and fills of this backend's memory.
    private IDeviceMemorySource Memory => Allocator.Source;

    /// <summary>Whether convolutions may use TF32 (from <see cref="Tf32Variable"/>; affects plans made afterwards).</summary>
    public bool AllowTf32 { get; set; }

    /// <summary>cuBLAS and cuDNN calls made from the calling thread (with <see cref="KernelLauncher.ThreadLaunchCount"/>, the parity tests' sentinel).</summary>
    public static long ThreadLibraryCalls => t_libraryCalls;

    /// <summary>Waits until all queued work has finished.</summary>
    public void Synchronize() => Gpu?.Synchronize();

    private void MakeCurrent() => Gpu?.MakeCurrent();

    // -- plumbing -------------------------------------------------------------------------

    private CudaFunction Fn(string name)
    {
        var file = KernelSignatures.Get(name).File;
        CudaModule? module;
        lock (_modules)
        {
            if (!_modules.TryGetValue(file, out module))
                _modules[file] = module = Emulator is not null
                    ? CudaModule.LoadEmulated(Emulator, file)
                    : CudaModule.Load(Gpu!, file);
        }
        return module.Function(name);
    }

    // 1-D grid-stride launch over n items; nothing to do for n = 0.
    private void Launch(string kernel, long n, params ReadOnlySpan<KernelArg> args)
    {
        if (n <= 0)
            return;
        MakeCurrent();
        var grid = (uint)Math.Min(KernelLauncher.GridFor(n, Block), (uint)_maxGrid);
        KernelLauncher.Launch(Fn(kernel), grid, Block, CudaStream.Null, args);
    }

    // One block per row (per-channel and per-row reductions).
    private void LaunchBlocks(
        string kernel,
        int blocks,
        int block,
        params ReadOnlySpan<KernelArg> args
    )
    {
        if (blocks <= 0)
            return;
        MakeCurrent();
        KernelLauncher.Launch(Fn(kernel), (uint)blocks, (uint)block, CudaStream.Null, args);
    }

    private void LibraryCall(Action call)
    {
        MakeCurrent();
        lock (_libraryGate)
        {
            t_libraryCalls++;
            call();
        }
    }

    /// <summary>Checks that <paramref name="t"/> lives on this device (and, when given, has <paramref name="dtype"/>); the message names the op and argument.</summary>
    private CudaStorage On(string op, string arg, Tensor t, DType? dtype = DType.Float32)
    {
        t.ThrowIfDisposed(op);
        if (t.Storage is not CudaStorage s || t.Device != Device)
            throw new ArgumentException(
                $"{op}: '{arg}' is on {t.Device} but the op runs on {Device}; move every argument to {Device}"
            );
        if (dtype is { } d && t.DType != d)
            throw new ArgumentException(
                $"{op}: '{arg}' {t.Describe()} has dtype {t.DType.Name()}, the CUDA kernel takes {d.Name()}"
            );
        return s;
    }

    /// <summary>Device address of <paramref name="t"/>'s first element, after checking device and dtype.</summary>
    private KernelArg Ptr(string op, string arg, Tensor t, DType? dtype = DType.Float32)
    {
        var s = On(op, arg, t, dtype);
        // The bit kernels read and write whole 32-bit words from the storage's start: a view at
        // any offset (even a whole byte in) would shift them, so refuse it as the CPU backend does.
        if (t.DType == DType.Bit && t.Offset != 0)
            throw new ArgumentException(
                $"{op}: '{arg}' bit tensor {t.Describe()} is a view at element offset {t.Offset}; bit tensors must start their storage"
            );
        return KernelArg.Pointer(s.Pointer + (ulong)t.DType.ByteCount(t.Offset));
    }

    private KernelArg Opt(string op, string arg, Tensor? t, DType? dtype = DType.Float32) =>
        t is null ? KernelArg.Null : Ptr(op, arg, t, dtype);

    private static ulong Address(KernelArg a) => a.Bits;

    // -- memory ---------------------------------------------------------------------------

    public Storage Allocate(DType dtype, long length, bool zero)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        MakeCurrent();
        // Bit tensors are written in whole 32-bit words by the packing kernel.
        var bytes =
            dtype == DType.Bit ? (dtype.ByteCount(length) + 3) / 4 * 4 : dtype.ByteCount(length);
        var buffer = Allocator.Allocate(Math.Max(bytes, 4));
        if (zero)
            buffer.Clear();
        return new CudaStorage(Device, dtype, length, buffer);
    }

    public void CopyFromHost(ReadOnlySpan<float> src, Tensor dst)
    {
        var dtype = dst.DType == DType.Int32 ? DType.Int32 : DType.Float32;
        var p = Address(Ptr("CopyFromHost", "dst", dst, dtype));
        if (src.Length > dst.Numel)
            throw new ArgumentException(
                $"CopyFromHost: {src.Length} values do not fit {dst.Describe()}"
            );
        if (src.IsEmpty)
            return;
        MakeCurrent();
        fixed (float* s = src)
            Memory.CopyToDevice(p, s, src.Length * 4L);
    }

    public void CopyToHost(Tensor src, Span<float> dst)
    {
        var dtype = src.DType == DType.Int32 ? DType.Int32 : DType.Float32;
        var p = Address(Ptr("CopyToHost", "src", src, dtype));
        if (dst.Length < src.Numel)
            throw new ArgumentException(
                $"CopyToHost: {src.Describe()} does not fit in {dst.Length} values"
            );
        var n = src.Numel;
        if (n == 0)
            return;
        MakeCurrent();
        fixed (float* d = dst)
            Memory.CopyToHost(d, p, n * 4L);
    }

    public void Convert(Tensor src, Tensor dst)
    {
        const string op = "Convert";
        if (src.Numel != dst.Numel)
            throw new ArgumentException(
                $"{op}: {src.Describe()} and {dst.Describe()} differ in element count"
            );
        var s = Ptr(op, "src", src, null);
        var d = Ptr(op, "dst", dst, null);
        var n = src.Numel;
        if (src.DType == dst.DType)
        {
            var bytes = src.DType.ByteCount(n);
            if (bytes == 0)
                return;
            MakeCurrent();
            Memory.CopyOnDevice(Address(d), Address(s), bytes, IntPtr.Zero);
            return;
        }
        if (TryConvertBits(src, dst, s, d, n))
            return;
        var kernel = (src.DType, dst.DType) switch
        {
            (DType.Float32, DType.BFloat16) => KernelNames.EwCastF32Bf16,
            (DType.BFloat16, DType.Float32) => KernelNames.EwCastBf16F32,
            (DType.Float32, DType.Float16) => KernelNames.EwCastF32F16,
            (DType.Float16, DType.Float32) => KernelNames.EwCastF16F32,
            (DType.Float32, DType.Int32) => KernelNames.EwCastF32I32,
            (DType.Int32, DType.Float32) => KernelNames.EwCastI32F32,
            (DType.Float32, DType.UInt8) => KernelNames.EwCastF32U8,
            (DType.UInt8, DType.Float32) => KernelNames.EwCastU8F32,
            _ => throw new NotSupportedException(
                $"{op}: {src.DType.Name()} to {dst.DType.Name()} (n={n}) on {Device}"
            ),
        };
        Launch(kernel, n, s, d, n);
    }

    // -- moving tensors -------------------------------------------------------------------

    /// <summary>
    /// Moves float32/int32 tensors (a model's parameters and buffers) to <paramref name="device"/>
    /// in place, keeping their identity: <see cref="Tensor.MoveInPlace"/>.
    /// </summary>
    public static void MoveInPlace(IEnumerable<Tensor> tensors, Device device) =>
        Tensor.MoveInPlace(tensors, device);

    public void Dispose()
    {
        if (_disposed)
            return;
        _disposed = true;
        DisposeConvPlans();
        DisposeTables();
        DisposeLibraryHandles();
        lock (_modules)
        {
            foreach (var m in _modules.Values)
                m.Dispose();
            _modules.Clear();
        }
        Allocator.Dispose();
        Emulator?.Dispose();
    }
}
