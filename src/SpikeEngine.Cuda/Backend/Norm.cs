using SpikeEngine.Cuda.Kernels;

namespace SpikeEngine.Cuda;

// Batch norm (training mode): kernels/norm.cu, statistics by one block per channel, the affine
// map and the input gradient elementwise.
public sealed partial class CudaBackend
{
    private const int NormBlock = 512;

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
        LaunchBlocks(
            KernelNames.BnStatsFwdF32,
            channels,
            NormBlock,
            xp,
            mp,
            ip,
            Opt(op, "runningMean", runningMean),
            Opt(op, "runningVar", runningVar),
            n,
            channels,
            inner,
            momentum,
            eps
        );
        var total = (long)n * channels * inner;
        Launch(
            KernelNames.BnApplyFwdF32,
            total,
            xp,
            Ptr(op, "gamma", gamma),
            Ptr(op, "beta", beta),
            mp,
            ip,
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
        LaunchBlocks(
            KernelNames.BnReduceBwdF32,
            channels,
            NormBlock,
            xp,
            gyp,
            mp,
            ip,
            ggp,
            gbp,
            n,
            channels,
            inner
        );
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
