using SpikeEngine.Cuda.Kernels;

namespace SpikeEngine.Cuda;

// Batch norm (training mode): kernels/norm.cu. The per-channel sums (statistics, and backward's
// dL/dbeta and dL/dgamma) run on a 2-D grid of (splits, C) blocks writing partial sums, then one
// thread per channel adds them in order; the affine map and the input gradient are elementwise.
public sealed partial class CudaBackend
{
    private const int NormBlock = 512;

    // Blocks per channel: enough for about four blocks per multiprocessor over all channels, at
    // most one per row, and few enough rows per block that its run of elements stays below 2^31.
    private int SplitsFor(int n, int channels, int inner)
    {
        var target = Math.Max(1, MultiprocessorCount * 4);
        var splits = Math.Clamp((target + channels - 1) / channels, 1, n);
        var maxRows = Math.Max(1, (int.MaxValue - NormBlock) / inner);
        return Math.Max(splits, (n + maxRows - 1) / maxRows);
    }

    // partial (C, splits, 2) ← bn_partial_sums_f32, then bn_finish_sums_f32 at `stage`.
    private void ChannelSums(
        string op,
        KernelArg x,
        KernelArg gy,
        KernelArg center,
        int n,
        int channels,
        int inner,
        int stage,
        KernelArg mean,
        KernelArg invStd,
        KernelArg runningMean,
        KernelArg runningVar,
        KernelArg gGamma,
        KernelArg gBeta,
        float momentum,
        float eps
    )
    {
        if (channels > 65535)
            throw new ArgumentException(
                $"{op}: {channels} channels, the CUDA kernels take at most 65535"
            );
        var splits = SplitsFor(n, channels, inner);
        var rowsPerSplit = (n + splits - 1) / splits;
        splits = (n + rowsPerSplit - 1) / rowsPerSplit;
        MakeCurrent();
        using var partial = Allocator.Allocate((long)channels * splits * 2 * 4);
        KernelLauncher.Launch(
            Fn(KernelNames.BnPartialSumsF32),
            ((uint)splits, (uint)channels, 1),
            (NormBlock, 1, 1),
            0,
            CudaStream.Null,
            [x, gy, center, partial, n, channels, inner, rowsPerSplit]
        );
        Launch(
            KernelNames.BnFinishSumsF32,
            channels,
            partial,
            mean,
            invStd,
            runningMean,
            runningVar,
            gGamma,
            gBeta,
            splits,
            channels,
            (long)n * inner,
            momentum,
            eps,
            stage
        );
    }

    public void BatchNormTrain(
        Tensor x,
        Tensor gamma,
        Tensor beta,
        Tensor y,
        Tensor mean,
        Tensor invStd,
        Tensor? runningMean,
        Tensor? runningVar,
        int n,
        int channels,
        int inner,
        float momentum,
        float eps
    )
    {
        const string op = "BatchNormTrain";
        var xp = Ptr(op, "x", x);
        var mp = Ptr(op, "mean", mean);
        var ip = Ptr(op, "invStd", invStd);
        var rm = Opt(op, "runningMean", runningMean);
        var rv = Opt(op, "runningVar", runningVar);
        var none = KernelArg.Null;
        // mean, then the variance around it (two passes: no E[x²] − E[x]² cancellation)
        ChannelSums(
            op,
            xp,
            none,
            none,
            n,
            channels,
            inner,
            0,
            mp,
            ip,
            rm,
            rv,
            none,
            none,
            momentum,
            eps
        );
        ChannelSums(
            op,
            xp,
            none,
            mp,
            n,
            channels,
            inner,
            1,
            mp,
            ip,
            rm,
            rv,
            none,
            none,
            momentum,
            eps
        );
        Normalise(op, xp, gamma, beta, mp, ip, y, n, channels, inner);
    }

    public void BatchNormApply(
        Tensor x,
        Tensor gamma,
        Tensor beta,
        Tensor mean,
        Tensor invStd,
        Tensor y,
        int n,
        int channels,
        int inner
    )
    {
        const string op = "BatchNormApply";
        Normalise(
            op,
            Ptr(op, "x", x),
            gamma,
            beta,
            Ptr(op, "mean", mean),
            Ptr(op, "invStd", invStd),
            y,
            n,
            channels,
            inner
        );
    }

    // y = x·(γ·invStd) + (β − mean·γ·invStd): the kernel both BatchNormTrain and BatchNormApply end with.
    private void Normalise(
        string op,
        KernelArg x,
        Tensor gamma,
        Tensor beta,
        KernelArg mean,
        KernelArg invStd,
        Tensor y,
        int n,
        int channels,
        int inner
    )
    {
        var total = (long)n * channels * inner;
        Launch(
            KernelNames.BnApplyFwdF32,
            total,
            x,
            Ptr(op, "gamma", gamma),
            Ptr(op, "beta", beta),
            mean,
            invStd,
            Ptr(op, "y", y),
            channels,
            inner,
            total
        );
    }

    public void BatchNormBackward(
        Tensor x,
        Tensor gy,
        Tensor gamma,
        Tensor mean,
        Tensor invStd,
        Tensor gx,
        Tensor gGamma,
        Tensor gBeta,
        int n,
        int channels,
        int inner
    )
    {
        const string op = "BatchNormBackward";
        var xp = Ptr(op, "x", x);
        var gyp = Ptr(op, "gy", gy);
        var mp = Ptr(op, "mean", mean);
        var ip = Ptr(op, "invStd", invStd);
        var ggp = Ptr(op, "gGamma", gGamma);
        var gbp = Ptr(op, "gBeta", gBeta);
        var none = KernelArg.Null;
        ChannelSums(op, xp, gyp, mp, n, channels, inner, 2, mp, ip, none, none, ggp, gbp, 0f, 0f);
        var total = (long)n * channels * inner;
        Launch(
            KernelNames.BnDataBwdF32,
            total,
            xp,
            gyp,
            Ptr(op, "gamma", gamma),
            mp,
            ip,
            ggp,
            gbp,
            Ptr(op, "gx", gx),
            channels,
            inner,
            (float)(1.0 / Math.Max(1L, (long)n * inner)),
            total
        );
    }
}
