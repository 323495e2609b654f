namespace SpikeEngine.Cpu;

public sealed partial class CpuBackend
{
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
        using var profile = OpProfile.Time(OpKind.Gemm);
        var aa = ArrayOf(a);
        var ba = ArrayOf(b);
        var ca = ArrayOf(c);
        int ao = (int)a.Offset,
            bo = (int)b.Offset,
            co = (int)c.Offset;
        var lda = transA ? m : k;
        var ldb = transB ? k : n;
        // Split rows of C across cores when the product is large enough to pay for it.
        var work = (long)m * n * k;
        var blocks = work < (1L << 21) ? 1 : Math.Min(Par.Workers, Math.Max(1, m / 16));
        var rowsPer = (m + blocks - 1) / blocks;
        Parallel.For(
            0,
            blocks,
            new ParallelOptions { MaxDegreeOfParallelism = blocks },
            blk =>
            {
                var r0 = blk * rowsPer;
                var rows = Math.Min(rowsPer, m - r0);
                if (rows <= 0)
                    return;
                // Row block of op(A): rows r0.. of A (no trans) or columns r0.. of A (trans).
                var aSpan = transA
                    ? new ReadOnlySpan<float>(aa, ao + r0, k * lda - r0)
                    : new ReadOnlySpan<float>(aa, ao + r0 * lda, rows * lda);
                Cpu.Gemm.Run(
                    transA,
                    transB,
                    rows,
                    n,
                    k,
                    alpha,
                    aSpan,
                    lda,
                    new ReadOnlySpan<float>(ba, bo, (int)b.Numel),
                    ldb,
                    beta,
                    new Span<float>(ca, co + r0 * n, rows * n),
                    n
                );
            }
        );
    }
}
