using System.Runtime.InteropServices;

namespace SpikeEngine.Cpu;

/// <summary>
/// OpenBLAS's <c>cblas_sgemm</c>, loaded by name at run time (Debian: <c>libopenblas0-pthread</c>).
/// <c>SPIKEENGINE_BLAS</c> overrides the library path, or disables BLAS with <c>none</c>.
/// OpenBLAS runs single-threaded: the engine splits work across cores itself, so BLAS calls from
/// several worker threads never oversubscribe the machine.
/// </summary>
public static unsafe class Blas
{
    private const int RowMajor = 101;
    private const int NoTrans = 111;
    private const int Trans = 112;

    private static readonly delegate* unmanaged<
        int,
        int,
        int,
        int,
        int,
        int,
        float,
        float*,
        int,
        float*,
        int,
        float,
        float*,
        int,
        void> s_sgemm;

    static Blas()
    {
        var env = Environment.GetEnvironmentVariable("SPIKEENGINE_BLAS");
        if (string.Equals(env, "none", StringComparison.OrdinalIgnoreCase))
        {
            Status = "disabled by SPIKEENGINE_BLAS=none";
            return;
        }
        string[] names = string.IsNullOrEmpty(env)
            ?
            [
                "libopenblas.so.0",
                "libopenblas.so",
                "libopenblasp.so.0",
                "libopenblas.dylib",
                "openblas.dll",
            ]
            : [env];
        foreach (var name in names)
        {
            if (!NativeLibrary.TryLoad(name, out var lib))
                continue;
            if (!NativeLibrary.TryGetExport(lib, "cblas_sgemm", out var fn))
                continue;
            s_sgemm = (delegate* unmanaged<
                int,
                int,
                int,
                int,
                int,
                int,
                float,
                float*,
                int,
                float*,
                int,
                float,
                float*,
                int,
                void>)fn;
            if (NativeLibrary.TryGetExport(lib, "openblas_set_num_threads", out var setThreads))
                ((delegate* unmanaged<int, void>)setThreads)(1);
            Library = name;
            Status = $"found {name}";
            Enabled = true;
            return;
        }
        Status = string.IsNullOrEmpty(env)
            ? "OpenBLAS not found (install libopenblas0-pthread); using the managed GEMM"
            : $"SPIKEENGINE_BLAS={env} could not be loaded or has no cblas_sgemm; using the managed GEMM";
    }

    /// <summary>True when cblas_sgemm was found and is used.</summary>
    public static bool IsAvailable => s_sgemm != null;

    /// <summary>When false, GEMM uses the managed kernel even if BLAS is present (benchmarks, tests).</summary>
    public static bool Enabled { get; set; }

    /// <summary>The library name that was loaded, if any.</summary>
    public static string? Library { get; }

    /// <summary>Where BLAS was found, or why not.</summary>
    public static string Status { get; } = "";

    /// <summary>Row-major sgemm on raw pointers with explicit leading dimensions.</summary>
    internal static void Sgemm(
        bool transA,
        bool transB,
        int m,
        int n,
        int k,
        float alpha,
        float* a,
        int lda,
        float* b,
        int ldb,
        float beta,
        float* c,
        int ldc
    )
    {
        if (s_sgemm == null || !Enabled)
            throw new InvalidOperationException("Blas.Sgemm: BLAS is not available");
        s_sgemm(
            RowMajor,
            transA ? Trans : NoTrans,
            transB ? Trans : NoTrans,
            m,
            n,
            k,
            alpha,
            a,
            lda,
            b,
            ldb,
            beta,
            c,
            ldc
        );
    }
}
