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

    /// <summary>Bytes of memory held for backward (every saved tensor's storage).</summary>
    public long SavedBytes => _saved.Sum(t => t.Storage.Bytes);

    /// <summary>The tensors kept by <see cref="Save"/> (until released).</summary>
    internal IReadOnlyList<Tensor> SavedTensors => _saved;

    /// <summary>
    /// Bytes this op holds for backward, for a <see cref="SavedBytesReport"/>: the storage of every
    /// tensor kept by <see cref="Save"/>, each storage counted once across the graph through
    /// <paramref name="ledger"/> (which also skips the parameters). Call it before backward.
    /// </summary>
    protected internal virtual long SavedBytesIn(StorageLedger ledger)
    {
        ArgumentNullException.ThrowIfNull(ledger);
        long bytes = 0;
        foreach (var t in _saved)
            bytes += ledger.Stored(t);
        return bytes;
    }

    /// <summary>
    /// Bytes the generic layout would hold for the same op: PyTorch eager with a fused multi-step
    /// neuron that keeps H only (SpikingJelly's cupy/triton kernels), every tensor float32
    /// (<c>docs/memory.md</c>, "The generic layout"). Ops that keep what PyTorch keeps need not
    /// override it: the default is what this op holds (<see cref="SavedBytesIn"/>).
    /// </summary>
    protected internal virtual long GenericBytesIn(StorageLedger ledger) => SavedBytesIn(ledger);

    /// <summary>Keeps <paramref name="t"/> for backward, sharing its storage.</summary>
    protected Tensor Save(Tensor t)
    {
        var s = t.Alias(register: false);
        _saved.Add(s);
        return s;
    }

    /// <summary>
    /// Where to write an input gradient shaped like <paramref name="gradOutput"/>, by an op that
    /// allows its output to be its input: over <paramref name="gradOutput"/> itself (a new handle on
    /// its storage) when no other handle shares that storage — nothing reads an output's gradient
    /// after its node's backward, which disposes it — so backward does not hold both at once; a new
    /// tensor otherwise.
    /// </summary>
    protected static Tensor Overwritable(Tensor gradOutput)
    {
        ArgumentNullException.ThrowIfNull(gradOutput);
        if (gradOutput.Storage.RefCount != 1 || gradOutput.DType != DType.Float32)
            return Tensor.EmptyLike(gradOutput);
        var t = gradOutput.Alias();
        t.IsBinary = false;
        t.CountBound = 0;
        return t;
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
        IsReleased = true;
    }

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
