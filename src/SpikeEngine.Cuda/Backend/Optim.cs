using SpikeEngine.Cuda.Interop;
using SpikeEngine.Cuda.Kernels;

namespace SpikeEngine.Cuda;

// Fused optimizer steps and gradient reductions over a flat list of tensors (kernels/optim.cu):
// one launch per up to 65535 tensors (gridDim.y), the pointer tables uploaded once per call. The
// device twins of CpuBackend.Optim.cs; SumOfSquares and FindNonFinite read back only their result
// (a double; one int64 per tensor and one float).
public sealed unsafe partial class CudaBackend
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
        if (momentum != 0f && momentumBuffers is null)
            throw new ArgumentException(
                $"{op}: momentum {momentum} needs momentum buffers",
                nameof(momentumBuffers)
            );
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
        long step
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

    public double SumOfSquares(IReadOnlyList<Tensor> xs)
    {
        const string op = "SumOfSquares";
        ArgumentNullException.ThrowIfNull(xs);
        double total = 0;
        var result = new double[1];
        for (var s = 0; s < xs.Count; s += MaxTensorsPerLaunch)
        {
            var count = Math.Min(MaxTensorsPerLaunch, xs.Count - s);
            using var table = Table(op, "xs", xs, s, count);
            using var sizes = Sizes(xs, s, count);
            var partials = (long)count * GridX(xs, s, count);
            Gpu.MakeCurrent();
            using var partial = Allocator.Allocate(partials * 8);
            using var sum = Allocator.Allocate(8);
            LaunchOverTensors(KernelNames.OptimSumsqF32, xs, s, count, table, sizes, partial);
            LaunchBlocks(KernelNames.OptimSumF64, 1, 1024, partial, sum, (int)partials);
            sum.CopyTo<double>(result);
            total += result[0];
        }
        return total;
    }

    public NonFiniteElement? FindNonFinite(IReadOnlyList<Tensor> xs)
    {
        const string op = "FindNonFinite";
        ArgumentNullException.ThrowIfNull(xs);
        for (var s = 0; s < xs.Count; s += MaxTensorsPerLaunch)
        {
            var count = Math.Min(MaxTensorsPerLaunch, xs.Count - s);
            using var table = Table(op, "xs", xs, s, count);
            using var sizes = Sizes(xs, s, count);
            Gpu.MakeCurrent();
            using var first = Allocator.Allocate(count * 8L);
            first.Fill32(uint.MaxValue);
            LaunchOverTensors(KernelNames.OptimNonfiniteF32, xs, s, count, table, sizes, first);
            var found = first.ToArray<ulong>(count);
            for (var k = 0; k < count; k++)
            {
                if (found[k] == ulong.MaxValue)
                    continue;
                var index = (long)found[k];
                var at = Address(Ptr(op, $"xs[{s + k}]", xs[s + k])) + (ulong)(index * 4);
                float value;
                CudaDriver.Check(CudaDriver.cuMemcpyDtoH_v2(&value, at, sizeof(float)));
                return new NonFiniteElement(s + k, index, value);
            }
        }
        return null;
    }

    public void ScaleInPlace(IReadOnlyList<Tensor> xs, float scale)
    {
        const string op = "ScaleInPlace";
        ArgumentNullException.ThrowIfNull(xs);
        for (var s = 0; s < xs.Count; s += MaxTensorsPerLaunch)
        {
            var count = Math.Min(MaxTensorsPerLaunch, xs.Count - s);
            using var table = Table(op, "xs", xs, s, count);
            using var sizes = Sizes(xs, s, count);
            LaunchOverTensors(KernelNames.OptimScaleF32, xs, s, count, table, sizes, scale);
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
        var x = GridX(parameters, start, count);
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

    // Blocks per tensor: enough for the largest tensor of the launch, at most 256 (grid-stride beyond).
    private static uint GridX(IReadOnlyList<Tensor> tensors, int start, int count)
    {
        long largest = 1;
        for (var i = 0; i < count; i++)
            largest = Math.Max(largest, tensors[start + i].Numel);
        return (uint)Math.Clamp((largest + Block - 1) / Block, 1, 256);
    }
}
