using System.Runtime.InteropServices;

namespace SpikeEngine;

/// <summary>
/// A dense, contiguous, row-major n-dimensional array on a device, with autograd.
/// Multi-step tensors are time-major: <c>[T, N, C, H, W]</c>.
/// Tensors are <see cref="IDisposable"/>; see <see cref="TensorScope"/> for scoped lifetimes.
/// </summary>
public sealed partial class Tensor : IDisposable
{
    private bool _requiresGrad;

    internal Tensor(Storage storage, Shape shape, long offset = 0, bool register = true)
    {
        if (offset + shape.Numel > storage.Length)
            throw new ArgumentException(
                $"tensor: view of {shape.Numel} elements at offset {offset} exceeds storage of {storage.Length}"
            );
        Storage = storage;
        Shape = shape;
        Offset = offset;
        if (register)
            TensorScope.Register(this);
    }

    internal Storage Storage { get; private set; }

    /// <summary>
    /// Swaps in another storage of the same dtype and length (moving a parameter to another
    /// device in place, so modules keep their references); releases the old one.
    /// </summary>
    internal void ReplaceStorage(Storage storage)
    {
        ThrowIfDisposed("ReplaceStorage");
        if (Offset != 0 || storage.Length != Numel || storage.DType != DType)
            throw new ArgumentException(
                $"ReplaceStorage: tensor {Describe()} (offset {Offset}) needs a {DType.Name()} storage of {Numel} elements, got {storage.DType.Name()} x {storage.Length}"
            );
        var old = Storage;
        Storage = storage;
        old.Release();
    }

    /// <summary>Element offset of this view within its storage.</summary>
    internal long Offset { get; }

    public Shape Shape { get; }
    public DType DType => Storage.DType;
    public Device Device => Storage.Device;

    /// <summary>Number of elements.</summary>
    public long Numel => Shape.Numel;

    /// <summary>Number of dimensions.</summary>
    public int Rank => Shape.Rank;

    /// <summary>Optional name (parameters carry theirs; used in messages).</summary>
    public string? Name { get; set; }

    /// <summary>The scope that will dispose this tensor, if any.</summary>
    internal TensorScope? Scope { get; set; }

    public bool IsDisposed { get; private set; }

    /// <summary>The node that produced this tensor, null for leaves.</summary>
    public Node? GradFn { get; internal set; }

    /// <summary>Which output of <see cref="GradFn"/> this tensor is.</summary>
    internal int OutputIndex { get; set; }

    /// <summary>True for tensors not produced by a recorded op.</summary>
    public bool IsLeaf => GradFn is null;

    /// <summary>Whether gradients flow to (and, for leaves, accumulate in) this tensor.</summary>
    public bool RequiresGrad
    {
        get => _requiresGrad;
        set
        {
            if (!IsLeaf && !value)
                throw new InvalidOperationException(
                    $"tensor {Describe()}: requiresGrad can only be cleared on a leaf; use Detach()"
                );
            if (value && DType != DType.Float32)
                throw new ArgumentException(
                    $"tensor {Describe()}: only float32 tensors can require gradients, this one is {DType.Name()}"
                );
            _requiresGrad = value;
        }
    }

    internal void MarkRequiresGrad() => _requiresGrad = true;

    /// <summary>Accumulated gradient of a leaf after <see cref="Backward"/>; owned by this tensor.</summary>
    public Tensor? Grad { get; set; }

    /// <summary>
    /// True when every element is exactly 0 or 1 because the op that produced it says so (the
    /// spikes of a neuron scan); views (<see cref="Reshape"/>, <see cref="Detach"/>) keep the mark.
    /// A convolution may then save this tensor bit-packed for backward. Never inferred from values.
    /// </summary>
    public bool IsBinary { get; internal set; }

    /// <summary>
    /// n &gt; 0 when every element is a whole number from 0 to n because the ops that produced it
    /// say so: 1 for spikes (<see cref="IsBinary"/>), the sum of the operands' bounds for a sum of
    /// spikes and spike counts (SEW's ADD connection); 0 when unknown. Views keep the mark and
    /// in-place updates clear it, as <see cref="IsBinary"/>. A recomputed segment may then keep
    /// this tensor as bytes (exact up to 255). Never inferred from values.
    /// </summary>
    public int CountBound
    {
        get => IsBinary ? 1 : _countBound;
        internal set => _countBound = value;
    }

    private int _countBound;

    /// <summary>Dimension <paramref name="axis"/> (negative counts from the end).</summary>
    public int Size(int axis) => Shape[axis];

    // ------------------------------------------------------------------------------------------
    // Host access

    /// <summary>The elements of a float32 CPU tensor.</summary>
    internal Span<float> Span() => Span<float>();

    internal Span<T> Span<T>()
        where T : unmanaged
    {
        ThrowIfDisposed("span");
        if (Storage is not CpuStorage cpu)
            throw new InvalidOperationException(
                $"tensor {Describe()}: host span of a {Device} tensor; copy it with To(Device.Cpu)"
            );
        return cpu.Span<T>().Slice(checked((int)Offset), checked((int)Numel));
    }

    /// <summary>Copies the elements to a new float array (row-major).</summary>
    public float[] ToArray()
    {
        ThrowIfDisposed("ToArray");
        var result = new float[Numel];
        if (DType == DType.Float32)
            Backend.CopyToHost(this, result);
        else
        {
            using var f = this.ToDType(DType.Float32);
            Backend.CopyToHost(f, result);
        }
        return result;
    }

    /// <summary>Copies the elements of an int32 tensor to a new array.</summary>
    public int[] ToInt32Array()
    {
        RequireDType(DType.Int32, "ToInt32Array");
        var result = new int[Numel];
        Backend.CopyToHost(this, MemoryMarshal.Cast<int, float>(result.AsSpan()));
        return result;
    }

    /// <summary>The value of a one-element tensor.</summary>
    public float Item()
    {
        if (Numel != 1)
            throw new InvalidOperationException(
                $"Item: tensor {Describe()} has {Numel} elements, expected 1"
            );
        return ToArray()[0];
    }

    /// <summary>Overwrites the elements from <paramref name="values"/> (length must equal <see cref="Numel"/>).</summary>
    public void CopyFrom(ReadOnlySpan<float> values)
    {
        ThrowIfDisposed("CopyFrom");
        RequireDType(DType.Float32, "CopyFrom");
        if (values.Length != Numel)
            throw new ArgumentException(
                $"CopyFrom: values has {values.Length} elements, tensor {Describe()} has {Numel}",
                nameof(values)
            );
        Backend.CopyFromHost(values, this);
    }

    // ------------------------------------------------------------------------------------------
    // Views and lifetimes

    internal IBackend Backend => Backends.For(Device);

    /// <summary>A new handle on the same storage and shape (no copy, no autograd link).</summary>
    internal Tensor Alias(bool register = true)
    {
        ThrowIfDisposed("alias");
        Storage.Retain();
        return new Tensor(Storage, Shape, Offset, register)
        {
            IsBinary = IsBinary,
            _countBound = _countBound,
        };
    }

    /// <summary>A view of the same storage, cut off from the graph.</summary>
    public Tensor Detach() => Alias();

    /// <summary>Releases this handle's reference to its storage (and the gradient it owns).</summary>
    public void Dispose()
    {
        if (IsDisposed)
            return;
        IsDisposed = true;
        Scope = null;
        Storage.Release();
        Grad?.Dispose();
        Grad = null;
    }

    internal void ThrowIfDisposed(string op)
    {
        if (IsDisposed)
            throw new ObjectDisposedException(
                nameof(Tensor),
                $"{op}: tensor {Name ?? ""} was disposed"
            );
    }

    internal void RequireDType(DType dtype, string op)
    {
        if (DType != dtype)
            throw new ArgumentException(
                $"{op}: tensor {Describe()} has dtype {DType.Name()}, expected {dtype.Name()}"
            );
    }

    /// <summary>Short description for messages: name, shape, dtype, device.</summary>
    public string Describe() =>
        $"{(Name is null ? "" : Name + " ")}{Shape} {DType.Name()} {Device}";

    public override string ToString()
    {
        if (IsDisposed)
            return "Tensor(disposed)";
        var head = $"Tensor{Shape} {DType.Name()} {Device}";
        if (Numel > 16 || DType == DType.Bit)
            return head;
        return head + " [" + string.Join(", ", ToArray().Select(v => v.ToString("G6"))) + "]";
    }
}
