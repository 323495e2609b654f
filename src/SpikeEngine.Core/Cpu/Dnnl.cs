using System.Runtime.InteropServices;

namespace SpikeEngine.Cpu;

/// <summary>
/// Thin bindings of oneDNN's C API (version 2.x, Debian <c>libdnnl2</c>), loaded by name at run
/// time like <see cref="Blas"/>. <c>SPIKEENGINE_DNNL</c> overrides the library path, or disables
/// oneDNN with <c>none</c>. Descriptors (<c>dnnl_memory_desc_t</c>, op descriptors) are
/// fixed-size C structs in 2.x; they are kept here as opaque native blocks larger than the
/// structs (696 and 5976 bytes in 2.6), so no field layout is copied into C#.
/// oneDNN's OpenMP runtime is limited to the engine's worker count on every calling thread.
/// </summary>
internal static unsafe class Dnnl
{
    // dnnl_types.h (2.6)
    public const int F32 = 3;
    public const int FormatAny = 1;
    public const int Nchw = 5; // also oihw: plain row-major 4-D
    public const int ForwardTraining = 64;
    public const int ConvolutionDirect = 1;
    public const int ArgSrc = 1;
    public const int ArgDst = 17;
    public const int ArgWeights = 33;
    public const int ArgDiffSrc = 129;
    public const int ArgDiffDst = 145;
    public const int ArgDiffWeights = 161;
    public const int ArgFrom = 1;
    public const int ArgTo = 17;
    public const int QueryImplInfoStr = 8;
    public const int QuerySrcMd = 129;
    public const int QueryDiffSrcMd = 130;
    public const int QueryWeightsMd = 131;
    public const int QueryDiffWeightsMd = 132;
    public const int QueryDstMd = 133;
    public const int QueryDiffDstMd = 134;

    /// <summary>Bytes reserved for one <c>dnnl_memory_desc_t</c> (696 in 2.6).</summary>
    public const int MemoryDescBytes = 1024;

    /// <summary>Bytes reserved for one op descriptor (<c>dnnl_convolution_desc_t</c>: 5976 in 2.6).</summary>
    public const int OpDescBytes = 8192;

    [StructLayout(LayoutKind.Sequential)]
    public struct ExecArg
    {
        public int Arg;
        public IntPtr Memory;
    }

    private static delegate* unmanaged<IntPtr*, int, nuint, int> s_engineCreate;
    private static delegate* unmanaged<IntPtr*, IntPtr, uint, int> s_streamCreate;
    private static delegate* unmanaged<IntPtr, int> s_streamWait;
    private static delegate* unmanaged<void*, int, long*, int, int, int> s_mdInitByTag;
    private static delegate* unmanaged<void*, void*, int> s_mdEqual;
    private static delegate* unmanaged<void*, nuint> s_mdGetSize;
    private static delegate* unmanaged<
        void*,
        int,
        int,
        void*,
        void*,
        void*,
        void*,
        long*,
        long*,
        long*,
        long*,
        int> s_convFwdInit;
    private static delegate* unmanaged<
        void*,
        int,
        void*,
        void*,
        void*,
        long*,
        long*,
        long*,
        long*,
        int> s_convBwdDataInit;
    private static delegate* unmanaged<
        void*,
        int,
        void*,
        void*,
        void*,
        void*,
        long*,
        long*,
        long*,
        long*,
        int> s_convBwdWeightsInit;
    private static delegate* unmanaged<IntPtr*, void*, IntPtr, IntPtr, IntPtr, int> s_pdCreate;
    private static delegate* unmanaged<IntPtr, int, int, void*, int> s_pdQuery;
    private static delegate* unmanaged<IntPtr, int, int, void*> s_pdQueryMd;
    private static delegate* unmanaged<IntPtr, int> s_pdDestroy;
    private static delegate* unmanaged<IntPtr*, IntPtr, int> s_primCreate;
    private static delegate* unmanaged<IntPtr, IntPtr, int, ExecArg*, int> s_primExecute;
    private static delegate* unmanaged<
        IntPtr*,
        void*,
        IntPtr,
        void*,
        IntPtr,
        IntPtr,
        int> s_reorderPdCreate;
    private static delegate* unmanaged<IntPtr*, void*, IntPtr, void*, int> s_memCreate;
    private static delegate* unmanaged<IntPtr, void*, int> s_memSetHandle;
    private static delegate* unmanaged<int, void> s_ompSetThreads;

    private static readonly IntPtr s_engine;
    private static readonly IntPtr s_stream;

    [ThreadStatic]
    private static bool t_threadsSet;

    static Dnnl()
    {
        var env = Environment.GetEnvironmentVariable("SPIKEENGINE_DNNL");
        if (string.Equals(env, "none", StringComparison.OrdinalIgnoreCase))
        {
            Status = "disabled by SPIKEENGINE_DNNL=none; convolutions use im2col + GEMM";
            return;
        }
        string[] names = string.IsNullOrEmpty(env)
            ? ["libdnnl.so.2", "libdnnl.so", "libdnnl.2.dylib", "dnnl.dll"]
            : [env];
        PassiveOpenMpUnlessSet();
        foreach (var name in names)
        {
            if (!NativeLibrary.TryLoad(name, out var lib))
                continue;
            if (!TryBind(lib))
                continue;
            // The OpenMP runtime oneDNN was built with (Debian: libgomp), for the thread count.
            if (
                (
                    NativeLibrary.TryLoad("libgomp.so.1", out var omp)
                    || NativeLibrary.TryLoad("libomp.so.5", out omp)
                ) && NativeLibrary.TryGetExport(omp, "omp_set_num_threads", out var setThreads)
            )
                s_ompSetThreads = (delegate* unmanaged<int, void>)setThreads;
            IntPtr engine,
                stream;
            if (
                s_engineCreate(
                    &engine,
                    1 /* dnnl_cpu */
                    ,
                    0
                ) != 0
            )
                continue;
            if (
                s_streamCreate(
                    &stream,
                    engine,
                    1 /* in order */
                ) != 0
            )
                continue;
            s_engine = engine;
            s_stream = stream;
            var version = "2.x";
            if (NativeLibrary.TryGetExport(lib, "dnnl_version", out var v))
            {
                var p = ((delegate* unmanaged<int*>)v)();
                version = $"{p[0]}.{p[1]}.{p[2]}";
            }
            Library = name;
            Version = version;
            Status =
                $"found {name} (version {version}, {Par.Workers} threads); convolutions run on oneDNN";
            Enabled = true;
            return;
        }
        Status = string.IsNullOrEmpty(env)
            ? "oneDNN not found (install libdnnl2); convolutions use im2col + GEMM"
            : $"SPIKEENGINE_DNNL={env} could not be loaded or lacks the oneDNN 2.x C API; convolutions use im2col + GEMM";
    }

    // oneDNN's OpenMP threads would spin after each primitive while the engine's own workers
    // take over (neurons, BN): they sleep at once unless OMP_WAIT_POLICY says otherwise. The
    // runtime reads its environment when it is loaded, so the variable goes into the process's
    // native environment first (.NET's Environment.SetEnvironmentVariable does not reach it).
    private static void PassiveOpenMpUnlessSet()
    {
        if (Environment.GetEnvironmentVariable("OMP_WAIT_POLICY") is not null)
            return;
        if (
            NativeLibrary.TryLoad("libc.so.6", out var libc)
            && NativeLibrary.TryGetExport(libc, "setenv", out var setenv)
        )
        {
            var name = Marshal.StringToCoTaskMemUTF8("OMP_WAIT_POLICY");
            var value = Marshal.StringToCoTaskMemUTF8("PASSIVE");
            ((delegate* unmanaged<IntPtr, IntPtr, int, int>)setenv)(name, value, 0);
            Marshal.FreeCoTaskMem(name);
            Marshal.FreeCoTaskMem(value);
        }
    }

    private static bool TryBind(IntPtr lib)
    {
        IntPtr Get(string name) =>
            NativeLibrary.TryGetExport(lib, name, out var f) ? f : IntPtr.Zero;
        var fns = new[]
        {
            Get("dnnl_engine_create"),
            Get("dnnl_stream_create"),
            Get("dnnl_stream_wait"),
            Get("dnnl_memory_desc_init_by_tag"),
            Get("dnnl_memory_desc_equal"),
            Get("dnnl_memory_desc_get_size"),
            Get("dnnl_dilated_convolution_forward_desc_init"),
            Get("dnnl_dilated_convolution_backward_data_desc_init"),
            Get("dnnl_dilated_convolution_backward_weights_desc_init"),
            Get("dnnl_primitive_desc_create"),
            Get("dnnl_primitive_desc_query"),
            Get("dnnl_primitive_desc_query_md"),
            Get("dnnl_primitive_desc_destroy"),
            Get("dnnl_primitive_create"),
            Get("dnnl_primitive_execute"),
            Get("dnnl_reorder_primitive_desc_create"),
            Get("dnnl_memory_create"),
            Get("dnnl_memory_set_data_handle"),
        };
        // oneDNN 3.x made descriptors opaque handles: these 2.x entry points are gone there.
        if (fns.Any(f => f == IntPtr.Zero))
            return false;
        var i = 0;
        s_engineCreate = (delegate* unmanaged<IntPtr*, int, nuint, int>)fns[i++];
        s_streamCreate = (delegate* unmanaged<IntPtr*, IntPtr, uint, int>)fns[i++];
        s_streamWait = (delegate* unmanaged<IntPtr, int>)fns[i++];
        s_mdInitByTag = (delegate* unmanaged<void*, int, long*, int, int, int>)fns[i++];
        s_mdEqual = (delegate* unmanaged<void*, void*, int>)fns[i++];
        s_mdGetSize = (delegate* unmanaged<void*, nuint>)fns[i++];
        s_convFwdInit = (delegate* unmanaged<
            void*,
            int,
            int,
            void*,
            void*,
            void*,
            void*,
            long*,
            long*,
            long*,
            long*,
            int>)
            fns[i++];
        s_convBwdDataInit = (delegate* unmanaged<
            void*,
            int,
            void*,
            void*,
            void*,
            long*,
            long*,
            long*,
            long*,
            int>)
            fns[i++];
        s_convBwdWeightsInit = (delegate* unmanaged<
            void*,
            int,
            void*,
            void*,
            void*,
            void*,
            long*,
            long*,
            long*,
            long*,
            int>)
            fns[i++];
        s_pdCreate = (delegate* unmanaged<IntPtr*, void*, IntPtr, IntPtr, IntPtr, int>)fns[i++];
        s_pdQuery = (delegate* unmanaged<IntPtr, int, int, void*, int>)fns[i++];
        s_pdQueryMd = (delegate* unmanaged<IntPtr, int, int, void*>)fns[i++];
        s_pdDestroy = (delegate* unmanaged<IntPtr, int>)fns[i++];
        s_primCreate = (delegate* unmanaged<IntPtr*, IntPtr, int>)fns[i++];
        s_primExecute = (delegate* unmanaged<IntPtr, IntPtr, int, ExecArg*, int>)fns[i++];
        s_reorderPdCreate = (delegate* unmanaged<
            IntPtr*,
            void*,
            IntPtr,
            void*,
            IntPtr,
            IntPtr,
            int>)
            fns[i++];
        s_memCreate = (delegate* unmanaged<IntPtr*, void*, IntPtr, void*, int>)fns[i++];
        s_memSetHandle = (delegate* unmanaged<IntPtr, void*, int>)fns[i++];
        return true;
    }

    /// <summary>True when the oneDNN 2.x C API was found and its CPU engine created.</summary>
    public static bool IsAvailable => s_engine != IntPtr.Zero;

    /// <summary>When false, convolutions use im2col + GEMM even if oneDNN is present (tests, benchmarks).</summary>
    public static bool Enabled { get; set; }

    /// <summary>The library name that was loaded, if any.</summary>
    public static string? Library { get; }

    /// <summary>oneDNN's version (major.minor.patch), if loaded.</summary>
    public static string? Version { get; }

    /// <summary>Where oneDNN was found, or why not.</summary>
    public static string Status { get; } = "";

    public static IntPtr Engine => s_engine;

    /// <summary>Throws with the status name and the failing call's text.</summary>
    public static void Check(
        int status,
        [System.Runtime.CompilerServices.CallerArgumentExpression(nameof(status))]
            string? expr = null
    )
    {
        if (status == 0)
            return;
        var name = status switch
        {
            1 => "dnnl_out_of_memory",
            2 => "dnnl_invalid_arguments",
            3 => "dnnl_unimplemented",
            4 => "dnnl_iterator_ends",
            5 => "dnnl_runtime_error",
            6 => "dnnl_not_required",
            _ => $"status {status}",
        };
        throw new InvalidOperationException($"oneDNN: {name} from {expr}");
    }

    /// <summary>A plain (row-major) f32 descriptor, or one the primitive may choose (<paramref name="any"/>).</summary>
    public static void* PlainDesc(ReadOnlySpan<long> dims, bool any)
    {
        var md = NativeMemory.AllocZeroed(MemoryDescBytes);
        fixed (long* d = dims)
            Check(s_mdInitByTag(md, dims.Length, d, F32, any ? FormatAny : Nchw));
        return md;
    }

    public static bool DescEqual(void* a, void* b) => s_mdEqual(a, b) != 0;

    public static long DescBytes(void* md) => (long)s_mdGetSize(md);

    public static void ConvForwardDesc(
        void* op,
        void* src,
        void* wei,
        void* dst,
        long* strides,
        long* dilates,
        long* padL,
        long* padR
    ) =>
        Check(
            s_convFwdInit(
                op,
                ForwardTraining,
                ConvolutionDirect,
                src,
                wei,
                null,
                dst,
                strides,
                dilates,
                padL,
                padR
            )
        );

    public static void ConvBackwardDataDesc(
        void* op,
        void* diffSrc,
        void* wei,
        void* diffDst,
        long* strides,
        long* dilates,
        long* padL,
        long* padR
    ) =>
        Check(
            s_convBwdDataInit(
                op,
                ConvolutionDirect,
                diffSrc,
                wei,
                diffDst,
                strides,
                dilates,
                padL,
                padR
            )
        );

    public static void ConvBackwardWeightsDesc(
        void* op,
        void* src,
        void* diffWei,
        void* diffDst,
        long* strides,
        long* dilates,
        long* padL,
        long* padR
    ) =>
        Check(
            s_convBwdWeightsInit(
                op,
                ConvolutionDirect,
                src,
                diffWei,
                null,
                diffDst,
                strides,
                dilates,
                padL,
                padR
            )
        );

    public static IntPtr PrimitiveDesc(void* op, IntPtr hint)
    {
        IntPtr pd;
        Check(s_pdCreate(&pd, op, IntPtr.Zero, s_engine, hint));
        return pd;
    }

    public static IntPtr ReorderDesc(void* from, void* to)
    {
        IntPtr pd;
        Check(s_reorderPdCreate(&pd, from, s_engine, to, s_engine, IntPtr.Zero));
        return pd;
    }

    public static void* QueryMd(IntPtr pd, int what) => s_pdQueryMd(pd, what, 0);

    /// <summary>oneDNN's name for the implementation a primitive descriptor picked (<c>jit:avx2</c>, <c>gemm:jit</c>).</summary>
    public static string ImplName(IntPtr pd)
    {
        byte* s = null;
        return s_pdQuery(pd, QueryImplInfoStr, 0, &s) == 0 && s != null
            ? Marshal.PtrToStringUTF8((IntPtr)s) ?? "?"
            : "?";
    }

    public static void DestroyDesc(IntPtr pd) => s_pdDestroy(pd);

    public static IntPtr Primitive(IntPtr pd)
    {
        IntPtr p;
        Check(s_primCreate(&p, pd));
        return p;
    }

    /// <summary>A memory object without data; the handle is set before each execution.</summary>
    public static IntPtr Memory(void* md)
    {
        IntPtr m;
        Check(s_memCreate(&m, md, s_engine, null));
        return m;
    }

    public static void SetHandle(IntPtr mem, void* data) => Check(s_memSetHandle(mem, data));

    /// <summary>Runs a primitive on the engine's in-order stream and waits for it.</summary>
    public static void Execute(IntPtr primitive, ReadOnlySpan<ExecArg> args)
    {
        if (!t_threadsSet)
        {
            if (s_ompSetThreads != null)
                s_ompSetThreads(Par.Workers);
            t_threadsSet = true;
        }
        fixed (ExecArg* a = args)
            Check(s_primExecute(primitive, s_stream, args.Length, a));
        Check(s_streamWait(s_stream));
    }
}
