using SpikeEngine.Cuda.Interop;

namespace SpikeEngine.Cuda;

// GEMM through cuBLAS. cuBLAS is column-major; a row-major matrix is its transpose, so the
// row-major C = op(A) op(B) is computed as the column-major C^T = op(B)^T op(A)^T: swap the
// operands and m/n, keep the transpose flags and the leading dimensions of the row-major layout.
public sealed unsafe partial class CudaBackend
{
    private CublasHandle? _cublas;

    private IntPtr CublasHandle()
    {
        if (_cublas is null)
        {
            IntPtr h;
            Cublas.Check(Cublas.cublasCreate_v2(&h));
            Cublas.Check(Cublas.cublasSetStream_v2(h, IntPtr.Zero));
            _cublas = new CublasHandle(Gpu!.Context, h);
        }
        return _cublas.DangerousGetHandle();
    }

    public void Gemm(
        bool transA,
        bool transB,
        int m,
        int n,
        int k,
        float alpha,
        Tensor a,
        Tensor b,
        float beta,
        Tensor c
    )
    {
        const string op = "Gemm";
        var ap = Ptr(op, "a", a).Bits;
        var bp = Ptr(op, "b", b).Bits;
        var cp = Ptr(op, "c", c).Bits;
        if (m == 0 || n == 0)
            return;
        if (k == 0)
        {
            // C = beta·C; beta = 0 overwrites (as BLAS and the CPU backend do), so stale or
            // non-finite memory in C does not survive as 0·NaN = NaN.
            if (beta == 0f)
                Fill(c, 0f);
            else if (beta != 1f)
                Scalar(ScalarOp.Mul, c, beta, c);
            return;
        }
        if (Emulator is not null)
        {
            OnHost(
                [a, b],
                c,
                (h, hc) => HostBackend.Gemm(transA, transB, m, n, k, alpha, h[0], h[1], beta, hc)
            );
            return;
        }
        var lda = transA ? m : k;
        var ldb = transB ? k : n;
        LibraryCall(() =>
        {
            float al = alpha,
                be = beta;
            Cublas.Check(
                Cublas.cublasSgemm_v2(
                    CublasHandle(),
                    transB ? cublasOperation_t.CUBLAS_OP_T : cublasOperation_t.CUBLAS_OP_N,
                    transA ? cublasOperation_t.CUBLAS_OP_T : cublasOperation_t.CUBLAS_OP_N,
                    n,
                    m,
                    k,
                    &al,
                    bp,
                    ldb,
                    ap,
                    lda,
                    &be,
                    cp,
                    n
                ),
                $"cublasSgemm_v2(Gemm transA={transA} transB={transB} m={m} n={n} k={k})"
            );
        });
    }
}
