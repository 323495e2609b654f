using System.Buffers;
using System.Numerics;
using System.Numerics.Tensors;

namespace SpikeEngine.Cpu;

/// <summary>
/// Single-threaded row-major SGEMM on spans: OpenBLAS when available, else a register-blocked
/// managed kernel. Callers parallelise across independent GEMMs or row blocks.
/// </summary>
internal static unsafe class Gemm
{
    /// <summary>C (m×n, ldc) = alpha · op(A) · op(B) + beta · C.</summary>
    public static void Run(
        bool transA,
        bool transB,
        int m,
        int n,
        int k,
        float alpha,
        ReadOnlySpan<float> a,
        int lda,
        ReadOnlySpan<float> b,
        int ldb,
        float beta,
        Span<float> c,
        int ldc
    )
    {
        if (m == 0 || n == 0)
            return;
        if (Blas.Enabled)
        {
            fixed (
                float* pa = a,
                    pb = b,
                    pc = c
            )
                Blas.Sgemm(transA, transB, m, n, k, alpha, pa, lda, pb, ldb, beta, pc, ldc);
            return;
        }
        Managed(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    }

    /// <summary>The managed kernel (also used when BLAS is disabled for comparison).</summary>
    public static void Managed(
        bool transA,
        bool transB,
        int m,
        int n,
        int k,
        float alpha,
        ReadOnlySpan<float> a,
        int lda,
        ReadOnlySpan<float> b,
        int ldb,
        float beta,
        Span<float> c,
        int ldc
    )
    {
        for (var i = 0; i < m; i++)
        {
            var row = c.Slice(i * ldc, n);
            if (beta == 0f)
                row.Clear();
            else if (beta != 1f)
                TensorPrimitives.Multiply(row, beta, row);
        }
        if (k == 0)
            return;

        // Pack op(A) as k-major panels of 4 rows and op(B) as a contiguous k×n matrix.
        float[]? bPacked = null;
        if (transB || ldb != n)
        {
            bPacked = ArrayPool<float>.Shared.Rent(k * n);
            for (var p = 0; p < k; p++)
            for (var j = 0; j < n; j++)
                bPacked[p * n + j] = transB ? b[j * ldb + p] : b[p * ldb + j];
            b = bPacked.AsSpan(0, k * n);
        }
        var panel = ArrayPool<float>.Shared.Rent(4 * k);
        try
        {
            var i0 = 0;
            for (; i0 + 4 <= m; i0 += 4)
            {
                for (var p = 0; p < k; p++)
                for (var r = 0; r < 4; r++)
                    panel[p * 4 + r] =
                        alpha * (transA ? a[p * lda + i0 + r] : a[(i0 + r) * lda + p]);
                Block4(panel, b, c, i0, n, k, ldc);
            }
            for (; i0 < m; i0++)
            {
                var row = c.Slice(i0 * ldc, n);
                for (var p = 0; p < k; p++)
                {
                    var av = alpha * (transA ? a[p * lda + i0] : a[i0 * lda + p]);
                    if (av != 0f)
                        TensorPrimitives.MultiplyAdd(b.Slice(p * n, n), av, row, row);
                }
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(panel);
            if (bPacked is not null)
                ArrayPool<float>.Shared.Return(bPacked);
        }
    }

    // C[i0..i0+4, :] += panel(k×4)ᵀ · B(k×n), two vectors wide per step.
    private static void Block4(
        float[] panel,
        ReadOnlySpan<float> b,
        Span<float> c,
        int i0,
        int n,
        int k,
        int ldc
    )
    {
        var w = Vector<float>.Count;
        fixed (
            float* pb = b,
                pc = c,
                pp = panel
        )
        {
            var j = 0;
            for (; j + 2 * w <= n; j += 2 * w)
            {
                Vector<float> c00 = default,
                    c01 = default,
                    c10 = default,
                    c11 = default;
                Vector<float> c20 = default,
                    c21 = default,
                    c30 = default,
                    c31 = default;
                var bp = pb + j;
                var ap = pp;
                for (var p = 0; p < k; p++, bp += n, ap += 4)
                {
                    var b0 = *(Vector<float>*)bp;
                    var b1 = *(Vector<float>*)(bp + w);
                    var a0 = new Vector<float>(ap[0]);
                    var a1 = new Vector<float>(ap[1]);
                    var a2 = new Vector<float>(ap[2]);
                    var a3 = new Vector<float>(ap[3]);
                    c00 = Vector.FusedMultiplyAdd(a0, b0, c00);
                    c01 = Vector.FusedMultiplyAdd(a0, b1, c01);
                    c10 = Vector.FusedMultiplyAdd(a1, b0, c10);
                    c11 = Vector.FusedMultiplyAdd(a1, b1, c11);
                    c20 = Vector.FusedMultiplyAdd(a2, b0, c20);
                    c21 = Vector.FusedMultiplyAdd(a2, b1, c21);
                    c30 = Vector.FusedMultiplyAdd(a3, b0, c30);
                    c31 = Vector.FusedMultiplyAdd(a3, b1, c31);
                }
                Acc(pc + (i0 + 0) * ldc + j, c00, c01, w);
                Acc(pc + (i0 + 1) * ldc + j, c10, c11, w);
                Acc(pc + (i0 + 2) * ldc + j, c20, c21, w);
                Acc(pc + (i0 + 3) * ldc + j, c30, c31, w);
            }
            for (; j < n; j++)
            {
                float s0 = 0,
                    s1 = 0,
                    s2 = 0,
                    s3 = 0;
                for (var p = 0; p < k; p++)
                {
                    var bv = pb[p * n + j];
                    s0 += pp[p * 4] * bv;
                    s1 += pp[p * 4 + 1] * bv;
                    s2 += pp[p * 4 + 2] * bv;
                    s3 += pp[p * 4 + 3] * bv;
                }
                pc[(i0 + 0) * ldc + j] += s0;
                pc[(i0 + 1) * ldc + j] += s1;
                pc[(i0 + 2) * ldc + j] += s2;
                pc[(i0 + 3) * ldc + j] += s3;
            }
        }
    }

    private static void Acc(float* dst, Vector<float> v0, Vector<float> v1, int w)
    {
        *(Vector<float>*)dst += v0;
        *(Vector<float>*)(dst + w) += v1;
    }
}
