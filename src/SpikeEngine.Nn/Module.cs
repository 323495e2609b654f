namespace SpikeEngine.Nn;

/// <summary>
/// Base of every layer, neuron, block and model: one <see cref="Forward"/> from a tensor to a
/// tensor, its shape-only twin <see cref="InferShape"/>, a tree of named child modules holding
/// named parameters and buffers, a train/eval mode, membrane state that <see cref="ResetState"/>
/// clears across the tree, and the chains (<see cref="ModuleChain"/>) whose fusion plan the
/// memory options choose (<see cref="MemoryOptions.ApplyTo"/>).
/// </summary>
public abstract class Module : IDisposable
{
    private readonly List<(string Name, Module Module)> _children = [];
    private readonly List<(string Name, Tensor Tensor)> _parameters = [];
    private readonly List<(string Name, Tensor Tensor)> _buffers = [];
    private readonly List<ModuleChain> _chains = [];

    /// <summary>
    /// Runs the module. Layers and blocks take single-step <c>[N, ...]</c> or multi-step
    /// <c>[T, N, ...]</c> input; neurons return spikes of the input's shape.
    /// </summary>
    public abstract Tensor Forward(Tensor x);

    /// <summary>
    /// Output shape for input <paramref name="shape"/>, recording neurons and saved activations
    /// into <paramref name="trace"/>, without touching tensors; validates like <see cref="Forward"/>.
    /// </summary>
    public abstract int[] InferShape(int[] shape, ShapeTrace trace);

    /// <summary>True in training mode (the default).</summary>
    public bool IsTraining { get; private set; } = true;

    /// <summary>Registers a child module under <paramref name="name"/> and returns it.</summary>
    protected T Child<T>(string name, T module)
        where T : Module
    {
        ArgumentNullException.ThrowIfNull(module);
        if (_children.Any(c => c.Name == name))
            throw new ArgumentException(
                $"{GetType().Name}: child '{name}' is registered twice",
                nameof(name)
            );
        _children.Add((name, module));
        return module;
    }

    /// <summary>Registers a learnable parameter (a leaf requiring grad, outside every scope).</summary>
    protected Tensor Parameter(string name, Tensor value)
    {
        ArgumentNullException.ThrowIfNull(value);
        TensorScope.Unscoped(value);
        value.RequiresGrad = true;
        value.Name ??= name;
        _parameters.Add((name, value));
        return value;
    }

    /// <summary>Registers a non-learnable state tensor saved in checkpoints (BN running stats).</summary>
    protected Tensor Buffer(string name, Tensor value)
    {
        ArgumentNullException.ThrowIfNull(value);
        TensorScope.Unscoped(value);
        value.Name ??= name;
        _buffers.Add((name, value));
        return value;
    }

    /// <summary>
    /// Declares <paramref name="modules"/> (already registered as children) as a chain this module
    /// runs in order; <see cref="MemoryOptions.ApplyTo"/> decides which neighbours of the chain run
    /// fused (<see cref="ModuleChain.Steps"/>).
    /// </summary>
    protected ModuleChain Chain(IEnumerable<Module> modules)
    {
        var chain = new ModuleChain(modules);
        _chains.Add(chain);
        return chain;
    }

    /// <summary>Replaces a chain this module declared (a container whose modules changed).</summary>
    protected ModuleChain ReplaceChain(ModuleChain old, IEnumerable<Module> modules)
    {
        var i = _chains.IndexOf(old);
        if (i < 0)
            throw new ArgumentException(
                $"{GetType().Name}: the chain to replace is not one of this module's",
                nameof(old)
            );
        var chain = new ModuleChain(modules);
        _chains[i] = chain;
        return chain;
    }

    /// <summary>The chains this module declared (not those of its children).</summary>
    public IReadOnlyList<ModuleChain> OwnChains => _chains;

    /// <summary>
    /// Every chain of the tree with the dotted name of the module that owns it and its fusion
    /// plan: what a forward pass in training mode runs as one op.
    /// </summary>
    public IEnumerable<(string Owner, ModuleChain Chain)> Chains() =>
        from m in NamedModules()
        from c in m.Module._chains
        select (m.Name, c);

    /// <summary>Direct children with their names.</summary>
    public IEnumerable<(string Name, Module Module)> Children() => _children;

    /// <summary>Every module in the tree (this first) with dotted names.</summary>
    public IEnumerable<(string Name, Module Module)> NamedModules(string prefix = "")
    {
        yield return (prefix, this);
        foreach (var (name, child) in _children)
        {
            foreach (var m in child.NamedModules(Join(prefix, name)))
                yield return m;
        }
    }

    /// <summary>Every parameter in the tree with dotted names (<c>layer1.0.conv1.weight</c>).</summary>
    public IEnumerable<(string Name, Tensor Tensor)> NamedParameters()
    {
        foreach (var (prefix, m) in NamedModules())
        {
            foreach (var (name, p) in m._parameters)
                yield return (Join(prefix, name), p);
        }
    }

    /// <summary>Every buffer in the tree with dotted names.</summary>
    public IEnumerable<(string Name, Tensor Tensor)> NamedBuffers()
    {
        foreach (var (prefix, m) in NamedModules())
        {
            foreach (var (name, b) in m._buffers)
                yield return (Join(prefix, name), b);
        }
    }

    /// <summary>Parameters then buffers with dotted names: the tensors a checkpoint or <c>Save</c> holds.</summary>
    public IEnumerable<(string Name, Tensor Tensor)> NamedTensors() =>
        NamedParameters().Concat(NamedBuffers());

    /// <summary>The parameters of the tree.</summary>
    public IEnumerable<Tensor> Parameters() => NamedParameters().Select(p => p.Tensor);

    /// <summary>Total number of learnable scalars.</summary>
    public long ParameterCount() => Parameters().Sum(p => p.Numel);

    /// <summary>Sets training (true) or evaluation mode across the tree.</summary>
    public Module Train(bool training = true)
    {
        foreach (var (_, m) in NamedModules())
            m.IsTraining = training;
        return this;
    }

    /// <summary>Evaluation mode across the tree.</summary>
    public Module Eval() => Train(false);

    /// <summary>Clears membrane state across the tree (call between samples/batches).</summary>
    public void ResetState()
    {
        foreach (var (_, m) in NamedModules())
            m.ResetOwnState();
    }

    /// <summary>Detaches membrane state from the graph across the tree (truncated BPTT).</summary>
    public void DetachState()
    {
        foreach (var (_, m) in NamedModules())
            m.DetachOwnState();
    }

    /// <summary>Clears this module's own state; stateful modules override.</summary>
    protected virtual void ResetOwnState() { }

    /// <summary>Detaches this module's own state; stateful modules override.</summary>
    protected virtual void DetachOwnState() { }

    /// <summary>Drops every parameter's gradient.</summary>
    public void ZeroGrad()
    {
        foreach (var p in Parameters())
        {
            p.Grad?.Dispose();
            p.Grad = null;
        }
    }

    /// <summary>
    /// Moves every parameter and buffer of the tree to <paramref name="device"/> in place (the
    /// tensors keep their identity, so layers and optimizers holding them see the move); tensors
    /// already there stay, so on the CPU this is a no-op. Membrane state is cleared: it is rebuilt
    /// on the input's device by the next forward. Gradients must be cleared first.
    /// </summary>
    public Module To(Device device)
    {
        Tensor.MoveInPlace(
            NamedParameters().Select(p => p.Tensor).Concat(NamedBuffers().Select(b => b.Tensor)),
            device
        );
        ResetState();
        return this;
    }

    /// <summary>Disposes parameters, buffers and state across the tree.</summary>
    public void Dispose()
    {
        foreach (var (_, m) in NamedModules().ToList())
        {
            m.ResetOwnState();
            foreach (var (_, p) in m._parameters)
                p.Dispose();
            foreach (var (_, b) in m._buffers)
                b.Dispose();
        }
        GC.SuppressFinalize(this);
    }

    private static string Join(string prefix, string name) =>
        prefix.Length == 0 ? name : prefix + "." + name;
}
