using SpikeEngine.Cuda.Interop;
using SpikeEngine.Cuda.Kernels;

namespace SpikeEngine.Cuda;

// Fused optimizer steps and gradient reductions over a flat list of tensors (kernels/optim.cu):
// one launch per up to 65535 tensors (gridDim.y). The tables of device addresses and sizes the
// kernels read are cached by content: a training loop passes the same parameters, gradients and
// states every step, so after the first step no table is uploaded again (each upload is a
// synchronous copy that drains the device). The device twins of Cpu/Optim.cs; SumOfSquares
// and FindNonFinite read back only their result (a double; one int64 per tensor and one float).
public sealed unsafe partial class CudaBackend
{
    private const int MaxTensorsPerLaunch = 65535;

    /// <summary>Most tables kept; past it the cache starts afresh (a training loop needs a handful).</summary>
    private const int MaxCachedTables = 64;

    private readonly Dictionary<ulong[], Memory.DeviceBuffer> _tables = new(TableComparer.Instance);

    [ThreadStatic]
    private static long t_tableUploads;

    /// <summary>Address and size tables uploaded from this thread (a test sees the cache work).</summary>
    internal static long ThreadTableUploads => t_tableUploads;

    private sealed class TableComparer : IEqualityComparer<ulong[]>
    {
        public static readonly TableComparer Instance = new();

        public bool Equals(ulong[]? a, ulong[]? b) =>
            ReferenceEquals(a, b)
            || (a is not null && b is not null && a.AsSpan().SequenceEqual(b));

        public int GetHashCode(ulong[] a)
        {
            var h = new HashCode();
            h.AddBytes(System.Runtime.InteropServices.MemoryMarshal.AsBytes(a.AsSpan()));
            return h.ToHashCode();
        }
    }

    // The device copy of a table of 64-bit values; the cache owns it (callers must not dispose).
    // The first entry tells a table of addresses from one of sizes with equal bits.
    private Memory.DeviceBuffer Upload(ulong kind, ReadOnlySpan<ulong> values)
    {
        var key = new ulong[values.Length + 1];
        key[0] = kind;
        values.CopyTo(key.AsSpan(1));
        lock (_tables)
        {
            if (_tables.TryGetValue(key, out var cached))
                return cached;
            MakeCurrent();
            var table = Allocator.Allocate(values.Length * 8L);
            table.CopyFrom(values);
            t_tableUploads++;
            _tables[key] = table;
            return table;
        }
    }

    // Called on entry to each op, never between fetching a table and launching on it: a full cache
    // starts afresh (the launches already queued on the null stream come before any reuse of the
    // freed memory).
    private void TrimTables()
    {
        lock (_tables)
        {
            if (_tables.Count >= MaxCachedTables)
                DisposeTables();
        }
    }

    private void DisposeTables()
    {
        lock (_tables)
        {
            foreach (var t in _tables.Values)
                t.Dispose();
            _tables.Clear();
        }
    }

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
        TrimTables();
        if (momentum != 0f && momentumBuffers is null)
            throw new ArgumentException(
                $"{op}: momentum {momentum} needs momentum buffers",
                nameof(momentumBuffers)
            );
        CheckLists(op, parameters, grads, momentum != 0f ? momentumBuffers : null, null);
        for (var s = 0; s < parameters.Count; s += MaxTensorsPerLaunch)
        {
            var count = Math.Min(MaxTensorsPerLaunch, parameters.Count - s);
            var p = Table(op, "parameters", parameters, s, count);
            var g = Table(op, "grads", grads, s, count);
            var b =
                momentum != 0f ? Table(op, "momentumBuffers", momentumBuffers!, s, count) : null;
            var sizes = Sizes(parameters, s, count);
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
        TrimTables();
        ArgumentOutOfRangeException.ThrowIfLessThan(step, 1);
        CheckLists(op, parameters, grads, m, v);
        var bc1 = 1f - MathF.Pow(beta1, step);
        var bc2Sqrt = MathF.Sqrt(1f - MathF.Pow(beta2, step));
        for (var s = 0; s < parameters.Count; s += MaxTensorsPerLaunch)
        {
            var count = Math.Min(MaxTensorsPerLaunch, parameters.Count - s);
            var p = Table(op, "parameters", parameters, s, count);
            var g = Table(op, "grads", grads, s, count);
            var mt = Table(op, "m", m, s, count);
            var vt = Table(op, "v", v, s, count);
            var sizes = Sizes(parameters, s, count);
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
        TrimTables();
        ArgumentNullException.ThrowIfNull(xs);
        double total = 0;
        var result = new double[1];
        for (var s = 0; s < xs.Count; s += MaxTensorsPerLaunch)
        {
            var count = Math.Min(MaxTensorsPerLaunch, xs.Count - s);
            var table = Table(op, "xs", xs, s, count);
            var sizes = Sizes(xs, s, count);
            var partials = (long)count * GridX(xs, s, count);
            MakeCurrent();
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
        TrimTables();
        ArgumentNullException.ThrowIfNull(xs);
        for (var s = 0; s < xs.Count; s += MaxTensorsPerLaunch)
        {
            var count = Math.Min(MaxTensorsPerLaunch, xs.Count - s);
            var table = Table(op, "xs", xs, s, count);
            var sizes = Sizes(xs, s, count);
            MakeCurrent();
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
                Memory.CopyToHost(&value, at, sizeof(float));
                return new NonFiniteElement(s + k, index, value);
            }
        }
        return null;
    }

    public void ScaleInPlace(IReadOnlyList<Tensor> xs, float scale)
    {
        const string op = "ScaleInPlace";
        TrimTables();
        ArgumentNullException.ThrowIfNull(xs);
        for (var s = 0; s < xs.Count; s += MaxTensorsPerLaunch)
        {
            var count = Math.Min(MaxTensorsPerLaunch, xs.Count - s);
            var table = Table(op, "xs", xs, s, count);
            var sizes = Sizes(xs, s, count);
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
        return Upload(0, pointers);
    }

    private Memory.DeviceBuffer Sizes(IReadOnlyList<Tensor> tensors, int start, int count)
    {
        var sizes = new ulong[count];
        for (var i = 0; i < count; i++)
            sizes[i] = (ulong)tensors[start + i].Numel;
        return Upload(1, sizes);
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
        MakeCurrent();
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
