using SpikeEngine.Cuda.Kernels;

namespace SpikeEngine.Cuda;

// Softmax cross-entropy with label smoothing: kernels/loss.cu.
public sealed partial class CudaBackend
{
    public void CrossEntropyForward(
        Tensor logits,
        Tensor labels,
        float smoothing,
        Tensor probs,
        Tensor loss
    )
    {
        const string op = "CrossEntropyForward";
        var n = logits.Size(0);
        var k = logits.Size(1);
        var lp = Ptr(op, "logits", logits);
        var yp = Ptr(op, "labels", labels, DType.Int32);
        var pp = Ptr(op, "probs", probs);
        var outp = Ptr(op, "loss", loss);
        Gpu.MakeCurrent();
        using var rowLoss = Allocator.Allocate(Math.Max(1, n) * 4L);
        LaunchBlocks(KernelNames.LossCeFwdF32, n, 128, lp, yp, pp, rowLoss, k, smoothing);
        LaunchBlocks(KernelNames.LossMeanFwdF32, 1, Block, rowLoss, outp, n);
    }

    public void CrossEntropyBackward(
        Tensor probs,
        Tensor labels,
        float smoothing,
        float gradLoss,
        Tensor gLogits
    )
    {
        const string op = "CrossEntropyBackward";
        var n = probs.Size(0);
        var k = probs.Size(1);
        var total = (long)n * k;
        Launch(
            KernelNames.LossCeBwdF32,
            total,
            Ptr(op, "probs", probs),
            Ptr(op, "labels", labels, DType.Int32),
            Ptr(op, "gLogits", gLogits),
            k,
            smoothing,
            gradLoss / n,
            total
        );
    }
}
