using SpikeEngine.Cuda.Kernels;

namespace SpikeEngine.Cuda;

// Reductions: kernels/reduce.cu (the CPU twin is Core/Cpu/Reduce.cs).
public sealed partial class CudaBackend
{
    public void Sum(Tensor x, int outer, int reduce, int inner, Tensor y)
    {
        const string op = "Sum";
        var xp = Ptr(op, "x", x);
        var yp = Ptr(op, "y", y);
        if (reduce == 0)
        {
            Fill(y, 0f);
            return;
        }
        if (inner == 1)
            LaunchBlocks(KernelNames.RedSumRowsF32, outer, Block, xp, yp, reduce);
        else
            Launch(KernelNames.RedSumColsF32, (long)outer * inner, xp, yp, outer, reduce, inner);
    }

    public void Expand(Tensor x, int outer, int reduce, int inner, Tensor y)
    {
        var n = (long)outer * reduce * inner;
        Launch(
            KernelNames.RedExpandFwdF32,
            n,
            Ptr("Expand", "x", x),
            Ptr("Expand", "y", y),
            reduce,
            inner,
            n
        );
    }
}
