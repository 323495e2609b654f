namespace SpikeEngine;

/// <summary>
/// One recorded op in the define-by-run tape. A node keeps its differentiable inputs and what
/// its backward needs (saved tensors hold their own storage reference, so disposing the forward
/// tensors is always safe); the saved state is released as soon as the backward has run.
/// </summary>
public abstract class Node
{
    private readonly List<Tensor> _saved = [];

    protected Node(string name, params Tensor?[] inputs)
    {
        Name = name;
        Inputs = inputs;
    }

    /// <summary>Op name, used in messages and the memory report.</summary>
    public string Name { get; }

    /// <summary>Inputs in op order; null or non-differentiable inputs receive no gradient.</summary>
    internal Tensor?[] Inputs { get; }

    /// <summary>Number of outputs this node produced.</summary>
    public virtual int OutputCount => 1;

    /// <summary>True once backward has run and the saved state was released.</summary>
    public bool IsReleased { get; private set; }

    /// <summary>Bytes of memory held for backward.</summary>
    public long SavedBytes => _saved.Sum(t => t.Storage.Bytes) + ExtraSavedBytes;

    /// <summary>The tensors kept by <see cref="Save"/> (until released).</summary>
    internal IReadOnlyList<Tensor> SavedTensors => _saved;

    internal long ExtraBytes => ExtraSavedBytes;

    /// <summary>Bytes held outside <see cref="Save"/> (for nodes that keep raw buffers).</summary>
    protected virtual long ExtraSavedBytes => 0;

    /// <summary>Keeps <paramref name="t"/> for backward, sharing its storage.</summary>
    protected Tensor Save(Tensor t)
    {
        var s = t.Alias(register: false);
        _saved.Add(s);
        return s;
    }

    /// <summary>
    /// Computes the gradients of the inputs from the gradients of the outputs (null where an
    /// output got none). Returns one entry per input (null for none). Returned tensors are new
    /// tensors owned by the caller; never return an element of <paramref name="gradOutputs"/>
    /// itself (use <see cref="Tensor.Alias"/>).
    /// </summary>
    protected internal abstract Tensor?[] Backward(Tensor?[] gradOutputs);

    internal void Release()
    {
        foreach (var t in _saved)
            t.Dispose();
        _saved.Clear();
        ReleaseExtra();
        IsReleased = true;
    }

    /// <summary>Releases buffers held outside <see cref="Save"/>.</summary>
    protected virtual void ReleaseExtra() { }

    internal static bool NeedsGrad(params Tensor?[] inputs)
    {
        if (!GradMode.IsEnabled)
            return false;
        foreach (var t in inputs)
        {
            if (t is not null && t.RequiresGrad)
                return true;
        }
        return false;
    }

    public override string ToString() => Name;
}
