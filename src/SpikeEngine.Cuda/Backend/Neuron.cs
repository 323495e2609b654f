using SpikeEngine.Cuda.Interop;
using SpikeEngine.Cuda.Kernels;

namespace SpikeEngine.Cuda;

// The fused neuron scans: kernels/neuron.cu (one thread per neuron, the time loop inside). The
// kernel variant is chosen by the storage type of the saved membrane h.
public sealed unsafe partial class CudaBackend
{
    private const int NeuronBlock = 256;

    private static string NeuronKernel(bool forward, DType hType, string op) =>
        (forward, hType) switch
        {
            (true, DType.Float32) => KernelNames.NeuronFwdF32,
            (true, DType.BFloat16) => KernelNames.NeuronFwdBf16,
            (true, DType.Float16) => KernelNames.NeuronFwdF16,
            (false, DType.Float32) => KernelNames.NeuronBwdF32,
            (false, DType.BFloat16) => KernelNames.NeuronBwdBf16,
            (false, DType.Float16) => KernelNames.NeuronBwdF16,
            _ => throw new ArgumentException(
                $"{op}: h must be float32, bfloat16 or float16, got {hType.Name()}"
            ),
        };

    private void Zero(KernelArg pointer, long bytes)
    {
        Gpu.MakeCurrent();
        CudaDriver.Check(CudaDriver.cuMemsetD8Async(pointer.Bits, 0, (nuint)bytes, IntPtr.Zero));
    }

    public void NeuronForward(
        in NeuronSpec spec,
        Tensor x,
        Tensor? v0,
        Tensor? w,
        Tensor spikes,
        Tensor? h,
        Tensor vLast,
        Tensor? spikeCount
    )
    {
        const string op = "NeuronForward";
        int T = x.Shape[0],
            M = x.Shape[1];
        if (spec.Kind == SpikeEngine.NeuronKind.Plif && w is null)
            throw new ArgumentException($"{op}: PLIF needs its weight tensor w");
        var kernel = NeuronKernel(true, h?.DType ?? DType.Float32, op);
        var countPtr = Opt(op, "spikeCount", spikeCount, DType.Int32);
        if (spikeCount is not null)
            Zero(countPtr, 4);
        LaunchBlocks(
            kernel,
            (int)KernelLauncher.GridFor(M, NeuronBlock),
            NeuronBlock,
            Ptr(op, "x", x),
            Opt(op, "v0", v0),
            Opt(op, "w", w),
            Ptr(op, "spikes", spikes),
            Opt(op, "h", h, null),
            KernelArg.Null,
            Ptr(op, "vLast", vLast),
            countPtr,
            T,
            M,
            (int)spec.Kind,
            spec.HardReset,
            spec.DecayInput,
            spec.K,
            spec.VThreshold,
            spec.VReset ?? 0f
        );
    }

    public void NeuronBackward(
        in NeuronSpec spec,
        Tensor h,
        Tensor? v0,
        Tensor? w,
        Tensor? gSpikes,
        Tensor? gvLast,
        Tensor gx,
        Tensor? gv0,
        Tensor? gw
    )
    {
        const string op = "NeuronBackward";
        int T = h.Shape[0],
            M = h.Shape[1];
        if (spec.Kind == SpikeEngine.NeuronKind.Plif && w is null)
            throw new ArgumentException($"{op}: PLIF needs its weight tensor w");
        var kernel = NeuronKernel(false, h.DType, op);
        // gw is only written for PLIF; elsewhere dL/dw is zero by definition.
        var gwPtr = Opt(op, "gw", gw);
        if (gw is not null)
            Zero(gwPtr, 4);
        LaunchBlocks(
            kernel,
            (int)KernelLauncher.GridFor(M, NeuronBlock),
            NeuronBlock,
            Opt(op, "gSpikes", gSpikes),
            KernelArg.Null,
            Opt(op, "gvLast", gvLast),
            Ptr(op, "h", h, null),
            Opt(op, "v0", v0),
            Opt(op, "w", w),
            Ptr(op, "gx", gx),
            Opt(op, "gv0", gv0),
            gwPtr,
            T,
            M,
            (int)spec.Kind,
            spec.HardReset,
            spec.DetachReset,
            spec.DecayInput,
            (int)spec.Surrogate.Kind,
            spec.Surrogate.Alpha,
            spec.K,
            spec.VThreshold,
            spec.VReset ?? 0f
        );
    }
}
