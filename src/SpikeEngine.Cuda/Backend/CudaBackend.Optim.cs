using SpikeEngine.Cuda.Kernels;

namespace SpikeEngine.Cuda;

// Fused optimizer steps over a flat list of parameters (kernels/optim.cu): one launch per up to
// 65535 tensors (gridDim.y), the pointer tables uploaded once per call. Not part of IBackend yet:
// the trainer's optimizers run on the host today; these are the device twins of
// OptimizerMath.SgdStep / AdamWStep.
public sealed partial class CudaBackend
{
    private const int MaxTensorsPerLaunch = 65535;

    /// <summary>
    /// SGD over every (parameter, gradient[, momentum buffer]) triple in few launches:
    /// <c>d = g + wd·p</c>; with momentum μ: <c>b = first ? d : μ·b + d</c>,
    /// <c>d = nesterov ? d + μ·b : b</c>; <c>p -= lr·d</c>.
    /// </summary>
    public void SgdStep(
        IReadOnlyList<Tensor> parameters,
        IReadOnlyList<Tensor> grads,
        IReadOnlyList<Tensor>? momentumBuffers,
        float lr,
        float momentum,
        float weightDecay,
        bool nesterov,
        bool firstStep
    )
    {
        const string op = "SgdStep";
        CheckLists(op, parameters, grads, momentum != 0f ? momentumBuffers : null, null);
        for (var s = 0; s < parameters.Count; s += MaxTensorsPerLaunch)
        {
            var count = Math.Min(MaxTensorsPerLaunch, parameters.Count - s);
            using var p = Table(op, "parameters", parameters, s, count);
            using var g = Table(op, "grads", grads, s, count);
            using var b =
                momentum != 0f ? Table(op, "momentumBuffers", momentumBuffers!, s, count) : null;
            using var sizes = Sizes(parameters, s, count);
            LaunchOverTensors(
                KernelNames.OptimSgdStepF32,
                parameters,
                s,
                count,
                p,
                g,
                b,
                sizes,
                lr,
                momentum,
                weightDecay,
                nesterov,
                firstStep
            );
        }
    }

    /// <summary>
    /// AdamW over every (parameter, gradient, m, v) in few launches, step <paramref name="step"/>
    /// counted from 1: <c>p *= 1 - lr·wd</c>; <c>m = β1·m + (1-β1)·g</c>; <c>v = β2·v + (1-β2)·g²</c>;
    /// <c>p -= lr·(m / (1-β1^t)) / (√(v / (1-β2^t)) + ε)</c> (Loshchilov and Hutter, ICLR 2019).
    /// </summary>
    public void AdamWStep(
        IReadOnlyList<Tensor> parameters,
        IReadOnlyList<Tensor> grads,
        IReadOnlyList<Tensor> m,
        IReadOnlyList<Tensor> v,
        float lr,
        float beta1,
        float beta2,
        float eps,
        float weightDecay,
        int step
    )
    {
        const string op = "AdamWStep";
        ArgumentOutOfRangeException.ThrowIfLessThan(step, 1);
        CheckLists(op, parameters, grads, m, v);
        var bc1 = 1f - MathF.Pow(beta1, step);
        var bc2Sqrt = MathF.Sqrt(1f - MathF.Pow(beta2, step));
        for (var s = 0; s < parameters.Count; s += MaxTensorsPerLaunch)
        {
            var count = Math.Min(MaxTensorsPerLaunch, parameters.Count - s);
            using var p = Table(op, "parameters", parameters, s, count);
            using var g = Table(op, "grads", grads, s, count);
            using var mt = Table(op, "m", m, s, count);
            using var vt = Table(op, "v", v, s, count);
            using var sizes = Sizes(parameters, s, count);
            LaunchOverTensors(
                KernelNames.OptimAdamwStepF32,
                parameters,
                s,
                count,
                p,
                g,
                mt,
                vt,
                sizes,
                lr,
                beta1,
                beta2,
                eps,
                weightDecay,
                bc1,
                bc2Sqrt
            );
        }
    }

    private static void CheckLists(
        string op,
        IReadOnlyList<Tensor> parameters,
        IReadOnlyList<Tensor> grads,
        IReadOnlyList<Tensor>? a,
        IReadOnlyList<Tensor>? b
    )
    {
        foreach (var (list, name) in new[] { (grads, "grads"), (a, "state"), (b, "state") })
        {
            if (list is null)
                continue;
            if (list.Count != parameters.Count)
                throw new ArgumentException(
                    $"{op}: {parameters.Count} parameters but {list.Count} {name}"
                );
            for (var i = 0; i < list.Count; i++)
            {
                if (list[i].Numel != parameters[i].Numel)
                    throw new ArgumentException(
                        $"{op}: {name}[{i}] {list[i].Describe()} does not match parameter {parameters[i].Describe()}"
                    );
            }
        }
    }

    private Memory.DeviceBuffer Table(
        string op,
        string what,
        IReadOnlyList<Tensor> tensors,
        int start,
        int count
    )
    {
        var pointers = new ulong[count];
        for (var i = 0; i < count; i++)
            pointers[i] = Ptr(op, $"{what}[{start + i}]", tensors[start + i]).Bits;
        Gpu.MakeCurrent();
        var table = Allocator.Allocate(count * 8L);
        table.CopyFrom<ulong>(pointers);
        return table;
    }

    private Memory.DeviceBuffer Sizes(IReadOnlyList<Tensor> tensors, int start, int count)
    {
        var sizes = new long[count];
        for (var i = 0; i < count; i++)
            sizes[i] = tensors[start + i].Numel;
        Gpu.MakeCurrent();
        var buffer = Allocator.Allocate(count * 8L);
        buffer.CopyFrom<long>(sizes);
        return buffer;
    }

    private void LaunchOverTensors(
        string kernel,
        IReadOnlyList<Tensor> parameters,
        int start,
        int count,
        params ReadOnlySpan<KernelArg> args
    )
    {
        if (count == 0)
            return;
        long largest = 1;
        for (var i = 0; i < count; i++)
            largest = Math.Max(largest, parameters[start + i].Numel);
        var x = (uint)Math.Clamp((largest + Block - 1) / Block, 1, 256);
        Gpu.MakeCurrent();
        KernelLauncher.Launch(
            Fn(kernel),
            (x, (uint)count, 1),
            (Block, 1, 1),
            0,
            CudaStream.Null,
            args
        );
    }
}
