namespace SpikeEngine;

public sealed partial class Tensor
{
    /// <summary>An uninitialised tensor.</summary>
    public static Tensor Empty(
        ReadOnlySpan<int> shape,
        Device? device = null,
        DType dtype = DType.Float32
    ) => Allocate(new Shape(shape, "Tensor.Empty"), device ?? Device.Cpu, dtype, zero: false);

    internal static Tensor Allocate(Shape shape, Device device, DType dtype, bool zero)
    {
        var storage = Backends.For(device).Allocate(dtype, shape.Numel, zero);
        return new Tensor(storage, shape);
    }

    /// <summary>Uninitialised tensor like <paramref name="like"/> (shape, device; float32 unless given).</summary>
    internal static Tensor EmptyLike(Tensor like, DType dtype = DType.Float32) =>
        Allocate(like.Shape, like.Device, dtype, zero: false);

    internal static Tensor Empty(Shape shape, Device device, DType dtype = DType.Float32) =>
        Allocate(shape, device, dtype, zero: false);

    /// <summary>A tensor of zeros.</summary>
    public static Tensor Zeros(
        ReadOnlySpan<int> shape,
        Device? device = null,
        bool requiresGrad = false
    )
    {
        var t = Allocate(
            new Shape(shape, "Tensor.Zeros"),
            device ?? Device.Cpu,
            DType.Float32,
            zero: true
        );
        t.RequiresGrad = requiresGrad;
        return t;
    }

    /// <summary>A tensor of ones.</summary>
    public static Tensor Ones(
        ReadOnlySpan<int> shape,
        Device? device = null,
        bool requiresGrad = false
    ) => Full(shape, 1f, device, requiresGrad);

    /// <summary>A tensor filled with <paramref name="value"/>.</summary>
    public static Tensor Full(
        ReadOnlySpan<int> shape,
        float value,
        Device? device = null,
        bool requiresGrad = false
    )
    {
        var t = Allocate(
            new Shape(shape, "Tensor.Full"),
            device ?? Device.Cpu,
            DType.Float32,
            zero: false
        );
        t.Backend.Fill(t, value);
        t.RequiresGrad = requiresGrad;
        return t;
    }

    /// <summary>A one-element tensor of shape [1].</summary>
    public static Tensor Scalar(float value, Device? device = null) => Full([1], value, device);

    /// <summary>A float32 tensor holding a copy of <paramref name="data"/> (row-major) with the given shape.</summary>
    public static Tensor FromArray(
        float[] data,
        int[] shape,
        bool requiresGrad = false,
        Device? device = null
    )
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(shape);
        var s = new Shape(shape, "Tensor.FromArray");
        if (s.Numel != data.Length)
            throw new ArgumentException(
                $"Tensor.FromArray: data has {data.Length} elements but shape {s} needs {s.Numel}",
                nameof(data)
            );
        var t = Allocate(s, device ?? Device.Cpu, DType.Float32, zero: false);
        t.Backend.CopyFromHost(data, t);
        t.RequiresGrad = requiresGrad;
        return t;
    }

    /// <summary>An int32 tensor (class labels) holding a copy of <paramref name="data"/>.</summary>
    public static Tensor FromInt32(int[] data, int[] shape, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(data);
        var s = new Shape(shape, "Tensor.FromInt32");
        if (s.Numel != data.Length)
            throw new ArgumentException(
                $"Tensor.FromInt32: data has {data.Length} elements but shape {s} needs {s.Numel}",
                nameof(data)
            );
        var t = Allocate(s, device ?? Device.Cpu, DType.Int32, zero: false);
        t.Backend.CopyFromHost(
            System.Runtime.InteropServices.MemoryMarshal.Cast<int, float>(data.AsSpan()),
            t
        );
        return t;
    }

    /// <summary>Normal samples N(mean, std²); element i depends only on (seed, i).</summary>
    public static Tensor Normal(
        ReadOnlySpan<int> shape,
        float mean = 0f,
        float std = 1f,
        ulong seed = 0,
        Device? device = null,
        bool requiresGrad = false
    )
    {
        if (!(std >= 0f) || !float.IsFinite(mean) || !float.IsFinite(std))
            throw new ArgumentException(
                $"Tensor.Normal: need finite mean and std >= 0, got mean={mean}, std={std}"
            );
        var t = Allocate(
            new Shape(shape, "Tensor.Normal"),
            device ?? Device.Cpu,
            DType.Float32,
            zero: false
        );
        t.Backend.FillRandom(t, RandomKind.Normal, mean, std, seed);
        t.RequiresGrad = requiresGrad;
        return t;
    }

    /// <summary>Uniform samples on [low, high); element i depends only on (seed, i).</summary>
    public static Tensor Uniform(
        ReadOnlySpan<int> shape,
        float low = 0f,
        float high = 1f,
        ulong seed = 0,
        Device? device = null,
        bool requiresGrad = false
    )
    {
        if (!(high >= low) || !float.IsFinite(low) || !float.IsFinite(high))
            throw new ArgumentException(
                $"Tensor.Uniform: need finite low <= high, got low={low}, high={high}"
            );
        var t = Allocate(
            new Shape(shape, "Tensor.Uniform"),
            device ?? Device.Cpu,
            DType.Float32,
            zero: false
        );
        t.Backend.FillRandom(t, RandomKind.Uniform, low, high, seed);
        t.RequiresGrad = requiresGrad;
        return t;
    }

    /// <summary>
    /// Kaiming (He) normal initialisation in fan-out mode for ReLU-like gains:
    /// std = sqrt(2 / fan_out), fan_out = shape[0] · Π shape[2..] (conv [K, C, KH, KW] or linear [out, in] → out).
    /// </summary>
    public static Tensor KaimingNormalFanOut(
        ReadOnlySpan<int> shape,
        ulong seed = 0,
        Device? device = null,
        bool requiresGrad = true
    )
    {
        if (shape.Length < 2)
            throw new ArgumentException(
                $"Tensor.KaimingNormalFanOut: shape needs at least 2 dimensions, got {Shape.Format(shape)}"
            );
        long fanOut = shape[0];
        for (var i = 2; i < shape.Length; i++)
            fanOut *= shape[i];
        return Normal(shape, 0f, (float)Math.Sqrt(2.0 / fanOut), seed, device, requiresGrad);
    }

    /// <summary>A copy of this tensor converted to <paramref name="dtype"/> (no autograd link).</summary>
    public Tensor ToDType(DType dtype)
    {
        ThrowIfDisposed("ToDType");
        var t = Empty(Shape, Device, dtype);
        Backend.Convert(this, t);
        return t;
    }

    /// <summary>A copy on <paramref name="device"/>; this tensor when it is already there (as a new handle).</summary>
    public Tensor To(Device device)
    {
        ThrowIfDisposed("To");
        if (device == Device)
            return Alias();
        if (DType != DType.Float32 && DType != DType.Int32)
            throw new ArgumentException(
                $"To: only float32 and int32 tensors move between devices, got {DType.Name()}"
            );
        var host = new float[Numel];
        Backend.CopyToHost(this, host);
        var t = Empty(Shape, device, DType);
        t.Backend.CopyFromHost(host, t);
        t.RequiresGrad = RequiresGrad && IsLeaf;
        return t;
    }
}
