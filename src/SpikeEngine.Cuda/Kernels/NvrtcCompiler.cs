using System.Runtime.InteropServices;
using System.Text;
using SpikeEngine.Cuda.Interop;

namespace SpikeEngine.Cuda.Kernels;

/// <summary>What NVRTC produced: PTX text or a CUBIN image, and its log (ptxas report included with <c>-v</c>).</summary>
public sealed record NvrtcOutput(string File, string Target, byte[] Image, bool IsCubin, string Log)
{
    /// <summary>The PTX text (only for PTX targets).</summary>
    public string Ptx =>
        IsCubin
            ? throw new InvalidOperationException(
                $"{File} was compiled to CUBIN for {Target}, not PTX"
            )
            : Encoding.UTF8.GetString(Image).TrimEnd('\0');
}

/// <summary>A kernel file failed to compile; the message holds NVRTC's log with file and line numbers.</summary>
public sealed class KernelCompileException(
    string file,
    string target,
    string log,
    nvrtcResult status
) : Exception($"NVRTC failed to compile kernels/{file} for {target} ({status}):\n{log.Trim()}")
{
    public string File { get; } = file;

    public string Target { get; } = target;

    public string Log { get; } = log;
}

/// <summary>Compiles CUDA C++ with NVRTC. Targets: <c>compute_XY</c> gives PTX, <c>sm_XY</c> gives CUBIN.</summary>
public static unsafe class NvrtcCompiler
{
    /// <summary>
    /// The options every kernel file is compiled with besides its target (NVRTC, and nvcc in
    /// <c>build.ps1 kernels</c>); they are part of <see cref="KernelSources.SourceHash"/>, so the
    /// kernel cache key and the precompiled-PTX stamp change with them. <c>--fmad=false</c>: no
    /// contraction of <c>a*b + c</c> into one fused multiply-add. The CPU backend rounds the
    /// product and the sum separately, and a one-ulp difference in a membrane potential can flip a
    /// spike at the threshold, so both backends must round alike.
    /// </summary>
    public static IReadOnlyList<string> Options { get; } =
    ["--std=c++14", "-lineinfo", "--fmad=false"];

    /// <summary>Whether NVRTC can be loaded here.</summary>
    public static bool IsAvailable => CudaLibraries.IsLoadable(CudaLibrary.Nvrtc);

    /// <summary>NVRTC's version (<c>nvrtcVersion</c>).</summary>
    public static (int Major, int Minor) Version
    {
        get
        {
            int major,
                minor;
            Nvrtc.Check(Nvrtc.nvrtcVersion(&major, &minor));
            return (major, minor);
        }
    }

    /// <summary>The <c>sm_XY</c> numbers (e.g. 75, 80, 90) this NVRTC can target.</summary>
    public static IReadOnlyList<int> SupportedArchs
    {
        get
        {
            int n;
            Nvrtc.Check(Nvrtc.nvrtcGetNumSupportedArchs(&n));
            var archs = new int[n];
            fixed (int* p = archs)
            {
                Nvrtc.Check(Nvrtc.nvrtcGetSupportedArchs(p));
            }
            return archs;
        }
    }

    /// <summary>
    /// Compiles <paramref name="source"/> (named <paramref name="file"/> in messages) with
    /// <paramref name="headers"/> available to <c>#include "name"</c>, with <see cref="Options"/>
    /// (or <paramref name="options"/> instead, when given) and <paramref name="extraOptions"/>.
    /// </summary>
    /// <exception cref="KernelCompileException">On a compile error, with NVRTC's log.</exception>
    public static NvrtcOutput Compile(
        string file,
        string source,
        IReadOnlyDictionary<string, string> headers,
        string target,
        bool ptxasVerbose = false,
        IEnumerable<string>? extraOptions = null,
        IReadOnlyList<string>? options = null
    )
    {
        // NVRTC's front end and ptxas recurse deeply: on a thread-pool thread's small stack they
        // overflow and take the process down. Compile on a thread with a generous stack.
        NvrtcOutput? result = null;
        Exception? error = null;
        var thread = new Thread(
            () =>
            {
                try
                {
                    result = CompileOnThisThread(
                        file,
                        source,
                        headers,
                        target,
                        ptxasVerbose,
                        [.. options ?? Options, .. extraOptions ?? []]
                    );
                }
                catch (Exception e)
                {
                    error = e;
                }
            },
            CompileStackBytes
        )
        {
            Name = $"nvrtc {file} {target}",
        };
        thread.Start();
        thread.Join();
        if (error is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(error).Throw();
        }
        return result!;
    }

    /// <summary>Stack size of the compiling thread (NVRTC needs far more than a thread-pool thread has).</summary>
    public const int CompileStackBytes = 256 << 20;

    private static NvrtcOutput CompileOnThisThread(
        string file,
        string source,
        IReadOnlyDictionary<string, string> headers,
        string target,
        bool ptxasVerbose,
        IEnumerable<string> compileOptions
    )
    {
        var isCubin = target.StartsWith("sm_", StringComparison.Ordinal);
        if (!isCubin && !target.StartsWith("compute_", StringComparison.Ordinal))
        {
            throw new ArgumentException(
                $"NvrtcCompiler.Compile: target '{target}' is neither compute_XY nor sm_XY",
                nameof(target)
            );
        }
        var options = new List<string> { $"--gpu-architecture={target}" };
        if (ptxasVerbose && isCubin)
        {
            options.Add("--ptxas-options=-v");
        }
        options.AddRange(compileOptions);

        var headerList = headers.OrderBy(kv => kv.Key, StringComparer.Ordinal).ToArray();
        var pinned = new List<GCHandle>();
        byte* Utf8(string s)
        {
            var bytes = Encoding.UTF8.GetBytes(s + "\0");
            var h = GCHandle.Alloc(bytes, GCHandleType.Pinned);
            pinned.Add(h);
            return (byte*)h.AddrOfPinnedObject();
        }

        IntPtr prog = IntPtr.Zero;
        try
        {
            var headerPtrs = new IntPtr[headerList.Length];
            var namePtrs = new IntPtr[headerList.Length];
            for (var i = 0; i < headerList.Length; i++)
            {
                headerPtrs[i] = (IntPtr)Utf8(headerList[i].Value);
                namePtrs[i] = (IntPtr)Utf8(headerList[i].Key);
            }
            var optionPtrs = options.Select(o => (IntPtr)Utf8(o)).ToArray();
            fixed (
                IntPtr* hp = headerPtrs,
                    np = namePtrs,
                    op = optionPtrs
            )
            {
                Nvrtc.Check(
                    Nvrtc.nvrtcCreateProgram(
                        &prog,
                        Utf8(source),
                        Utf8(file),
                        headerList.Length,
                        (byte**)hp,
                        (byte**)np
                    )
                );
                var status = Nvrtc.nvrtcCompileProgram(prog, optionPtrs.Length, (byte**)op);
                var log = ReadLog(prog);
                if (status == nvrtcResult.NVRTC_ERROR_COMPILATION)
                {
                    throw new KernelCompileException(file, target, log, status);
                }
                Nvrtc.Check(status, $"nvrtcCompileProgram({file}, {string.Join(' ', options)})");
                nuint size;
                byte[] image;
                if (isCubin)
                {
                    Nvrtc.Check(Nvrtc.nvrtcGetCUBINSize(prog, &size));
                    image = new byte[(int)size];
                    fixed (byte* p = image)
                    {
                        Nvrtc.Check(Nvrtc.nvrtcGetCUBIN(prog, p));
                    }
                }
                else
                {
                    Nvrtc.Check(Nvrtc.nvrtcGetPTXSize(prog, &size));
                    image = new byte[(int)size];
                    fixed (byte* p = image)
                    {
                        Nvrtc.Check(Nvrtc.nvrtcGetPTX(prog, p));
                    }
                }
                return new NvrtcOutput(file, target, image, isCubin, log);
            }
        }
        finally
        {
            if (prog != IntPtr.Zero)
            {
                _ = Nvrtc.nvrtcDestroyProgram(&prog);
            }
            foreach (var h in pinned)
            {
                h.Free();
            }
        }
    }

    /// <summary>Compiles one embedded kernel file with the embedded headers.</summary>
    public static NvrtcOutput CompileEmbedded(
        string file,
        string target,
        bool ptxasVerbose = false
    ) => Compile(file, KernelSources.Read(file), KernelSources.Headers, target, ptxasVerbose);

    private static string ReadLog(IntPtr prog)
    {
        nuint size;
        if (Nvrtc.nvrtcGetProgramLogSize(prog, &size) != nvrtcResult.NVRTC_SUCCESS || size <= 1)
        {
            return "";
        }
        var buffer = new byte[(int)size];
        fixed (byte* p = buffer)
        {
            if (Nvrtc.nvrtcGetProgramLog(prog, p) != nvrtcResult.NVRTC_SUCCESS)
            {
                return "";
            }
        }
        return Encoding.UTF8.GetString(buffer).TrimEnd('\0');
    }
}
