using System.Text;
using SpikeEngine.Cuda.Interop;

namespace SpikeEngine.Cuda.Kernels;

/// <summary>A kernel entry point in a loaded module, with its parameter signature.</summary>
public sealed class CudaFunction(
    string name,
    IntPtr handle,
    KernelSignature signature,
    EmulatedDevice? emulator = null
)
{
    public string Name { get; } = name;

    /// <summary>The driver's <c>CUfunction</c> (owned by its module), or the emulation library's launch entry.</summary>
    public IntPtr Handle { get; } = handle;

    public KernelSignature Signature { get; } = signature;

    /// <summary>The emulated device that runs this function on the CPU; null for a GPU's function.</summary>
    public EmulatedDevice? Emulator { get; } = emulator;

    /// <summary>Registers per thread the loaded code uses.</summary>
    public unsafe int Registers
    {
        get
        {
            if (Emulator is not null)
                throw new InvalidOperationException(
                    $"CudaFunction.Registers: {Name} runs in the CPU emulation, which has no registers to report"
                );
            int v;
            CudaDriver.Check(
                CudaDriver.cuFuncGetAttribute(
                    &v,
                    CUfunction_attribute.CU_FUNC_ATTRIBUTE_NUM_REGS,
                    Handle
                )
            );
            return v;
        }
    }
}

/// <summary>How a module's code was obtained.</summary>
public enum KernelOrigin
{
    PrecompiledPtx,
    DiskCache,
    Nvrtc,

    /// <summary>The CPU emulation library (the file compiled by the host C++ compiler).</summary>
    Emulation,
}

/// <summary>
/// One kernel file loaded into a device's context (<c>cuModuleLoadDataEx</c>). Load order:
/// precompiled PTX embedded by <c>build.ps1 kernels</c> when built from the current source;
/// otherwise NVRTC for the device's <c>sm_XY</c> (CUBIN; PTX for the newest supported
/// <c>compute_XY</c> when this NVRTC predates the device), through the disk cache (a cached image
/// the driver refuses is deleted and compiled again).
/// </summary>
public sealed unsafe class CudaModule : IDisposable
{
    private readonly CudaModuleHandle? handle;
    private readonly EmulatedDevice? emulator;
    private readonly Dictionary<string, CudaFunction> functions = new(StringComparer.Ordinal);

    private CudaModule(
        string file,
        CudaModuleHandle? handle,
        KernelOrigin origin,
        string target,
        EmulatedDevice? emulator = null
    )
    {
        File = file;
        this.handle = handle;
        this.emulator = emulator;
        Origin = origin;
        Target = target;
    }

    public string File { get; }

    public KernelOrigin Origin { get; }

    /// <summary>What the code was built for, e.g. <c>sm_90</c> or <c>compute_75</c>.</summary>
    public string Target { get; }

    /// <summary>Loads embedded kernel file <paramref name="file"/> (e.g. <c>neuron.cu</c>) for <paramref name="device"/>.</summary>
    public static CudaModule Load(CudaDevice device, string file)
    {
        var ptx = KernelSources.PrecompiledPtx(file);
        if (ptx is not null)
        {
            return FromImage(
                device,
                file,
                Encoding.UTF8.GetBytes(ptx + "\0"),
                KernelOrigin.PrecompiledPtx,
                "ptx"
            );
        }
        if (!NvrtcCompiler.IsAvailable)
        {
            var report = CudaLibraries.Probe().First(r => r.Library == CudaLibrary.Nvrtc);
            throw new InvalidOperationException(
                $"CudaModule.Load({file}): no precompiled PTX matches the current source and NVRTC is unavailable "
                    + $"({report.Detail}). Run `build.ps1 kernels` on a machine with nvcc or NVRTC, or set "
                    + $"{CudaLibraries.LibDirsVariable} to the folder holding libnvrtc."
            );
        }
        var version = NvrtcCompiler.Version;
        var cc = device.ComputeCapability.Major * 10 + device.ComputeCapability.Minor;
        var supported = NvrtcCompiler.SupportedArchs;
        var target = supported.Contains(cc)
            ? $"sm_{cc}"
            : $"compute_{supported.Where(a => a <= cc).DefaultIfEmpty(supported.Min()).Max()}";
        var path = KernelCache.KeyPath(file, KernelSources.SourceHash(file), target, version);
        var cached = KernelCache.TryRead(path);
        if (cached is not null)
        {
            try
            {
                return FromImage(device, file, cached, KernelOrigin.DiskCache, target);
            }
            catch (CudaException)
            {
                // A cached image the driver refuses (truncated, corrupt, or from an incompatible
                // toolchain) only costs a recompile: drop it and build afresh below.
                KernelCache.Delete(path);
            }
        }
        var output = NvrtcCompiler.CompileEmbedded(file, target);
        var image = output.IsCubin ? output.Image : Encoding.UTF8.GetBytes(output.Ptx + "\0");
        var module = FromImage(device, file, image, KernelOrigin.Nvrtc, target);
        KernelCache.Write(path, image);
        return module;
    }

    /// <summary>The kernels of <paramref name="file"/> as compiled into the CPU emulation library, run by <paramref name="device"/>.</summary>
    public static CudaModule LoadEmulated(EmulatedDevice device, string file)
    {
        if (!CudaEmulationLibrary.IsLoadable)
            throw new InvalidOperationException(
                $"CudaModule.LoadEmulated({file}): {CudaEmulationLibrary.UnavailableReason}"
            );
        return new CudaModule(file, null, KernelOrigin.Emulation, "cpu", device);
    }

    /// <summary>Loads a PTX (NUL-terminated) or CUBIN image; a JIT failure reports the driver's log.</summary>
    public static CudaModule FromImage(
        CudaDevice device,
        string file,
        byte[] image,
        KernelOrigin origin,
        string target
    )
    {
        device.MakeCurrent();
        const int logSize = 8192;
        var errorLog = new byte[logSize];
        IntPtr module;
        CUresult r;
        fixed (
            byte* img = image,
                log = errorLog
        )
        {
            var options = stackalloc CUjit_option[]
            {
                CUjit_option.CU_JIT_ERROR_LOG_BUFFER,
                CUjit_option.CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES,
            };
            var values = stackalloc void*[] { log, (void*)logSize };
            r = CudaDriver.cuModuleLoadDataEx(&module, img, 2, options, values);
        }
        if (r != CUresult.CUDA_SUCCESS)
        {
            var text = Encoding.UTF8.GetString(errorLog).TrimEnd('\0').Trim();
            throw new CudaException(
                r,
                CudaDriver.ErrorName(r),
                $"cuModuleLoadDataEx(kernels/{file}, {origin}, {target})",
                text.Length > 0 ? text : null
            );
        }
        return new CudaModule(file, new CudaModuleHandle(device.Context, module), origin, target);
    }

    /// <summary>Looks up an entry point; it must be listed in <see cref="KernelSignatures"/> under this file.</summary>
    public CudaFunction Function(string name)
    {
        lock (functions)
        {
            if (functions.TryGetValue(name, out var f))
            {
                return f;
            }
            var signature = KernelSignatures.Get(name);
            if (signature.File != File)
            {
                throw new ArgumentException(
                    $"CudaModule.Function: {name} lives in {signature.File}, not {File}",
                    nameof(name)
                );
            }
            if (emulator is not null)
            {
                f = new CudaFunction(
                    name,
                    CudaEmulationLibrary.Entry(EmulationEntries.ExportName(name)),
                    signature,
                    emulator
                );
                functions[name] = f;
                return f;
            }
            IntPtr fn;
            CudaDriver.Check(
                CudaDriver.cuModuleGetFunction(&fn, handle!.DangerousGetHandle(), name)
            );
            f = new CudaFunction(name, fn, signature);
            functions[name] = f;
            return f;
        }
    }

    public void Dispose() => handle?.Dispose();
}
