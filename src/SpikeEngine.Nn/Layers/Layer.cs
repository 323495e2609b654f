namespace SpikeEngine.Nn;

/// <summary>
/// Base of the stateless layers, blocks and models: a module with <see cref="Forward"/> and a
/// shape-only twin, <see cref="InferShape"/>, that walks the same structure without touching
/// tensors (used by the model table to count parameters, neuron elements and saved activations).
/// Stateless layers accept single-step <c>[N, ...]</c> or multi-step <c>[T, N, ...]</c> input and
/// fold time into the batch for the latter (see <see cref="SeqToBatch"/>).
/// </summary>
public abstract class Layer : Module
{
    [ThreadStatic]
    private static int t_shapeOnly;

    private long _deferredParameters;

    protected Layer() => IsShapeOnly = t_shapeOnly > 0;

    /// <summary>
    /// True when this layer was built inside <see cref="ShapeOnly"/>: its parameters were counted
    /// but never allocated, so only <see cref="InferShape"/> may run.
    /// </summary>
    public bool IsShapeOnly { get; }

    /// <summary>
    /// Parameters this layer would own (only for shape-only layers; real layers report theirs
    /// through <see cref="Module.ParameterCount"/>).
    /// </summary>
    public long DeferredParameterCount => _deferredParameters;

    /// <summary>
    /// Opens a scope in which new layers count their parameters instead of allocating them, so
    /// the structure of a 152-layer model can be walked in microseconds.
    /// </summary>
    public static ShapeOnlyScope ShapeOnly()
    {
        t_shapeOnly++;
        return new ShapeOnlyScope();
    }

    /// <summary>Handle returned by <see cref="ShapeOnly"/>.</summary>
    public readonly struct ShapeOnlyScope : IDisposable
    {
        public void Dispose() => t_shapeOnly--;
    }

    /// <summary>Runs the layer.</summary>
    public abstract Tensor Forward(Tensor x);

    /// <summary>
    /// Output shape for input <paramref name="shape"/>, recording neurons and saved activations
    /// into <paramref name="trace"/>; validates like <see cref="Forward"/>.
    /// </summary>
    public abstract int[] InferShape(int[] shape, ShapeTrace trace);

    /// <summary>Registers a parameter created by <paramref name="init"/> (or only counts it in shape-only mode).</summary>
    protected Tensor NewParameter(string name, int[] shape, Func<Tensor> init)
    {
        if (IsShapeOnly)
        {
            _deferredParameters += ShapeTrace.Numel(shape);
            return null!;
        }
        return Parameter(name, init());
    }

    /// <summary>Registers a buffer created by <paramref name="init"/> (nothing in shape-only mode).</summary>
    protected Tensor NewBuffer(string name, Func<Tensor> init) =>
        IsShapeOnly ? null! : Buffer(name, init());

    /// <summary>Throws when a shape-only layer is asked to compute.</summary>
    protected void ThrowIfShapeOnly(string op)
    {
        if (IsShapeOnly)
            throw new InvalidOperationException(
                $"{op}: this layer was built with Layer.ShapeOnly() and has no weights; build it outside that scope to run it"
            );
    }

    /// <summary>Runs a layer or a spiking neuron (the two kinds of modules a network chains).</summary>
    public static Tensor Run(Module module, Tensor x) =>
        module switch
        {
            Layer l => l.Forward(x),
            NeuronNode n => n.Forward(x),
            null => throw new ArgumentNullException(nameof(module)),
            _ => throw new ArgumentException(
                $"Layer.Run: module {module.GetType().Name} is neither a Layer nor a NeuronNode",
                nameof(module)
            ),
        };

    /// <summary>
    /// Runs <paramref name="modules"/> in order from <paramref name="x"/>, disposing the
    /// intermediates (never <paramref name="x"/>). A <see cref="BatchNorm2d"/> with
    /// <see cref="BatchNorm2d.FuseWithNeuron"/> directly followed by a multi-step
    /// <see cref="FusedNeuronNode"/> runs with it as one op (<see cref="FusedNeuronNode.ForwardAfter"/>)
    /// in training mode; otherwise a bias-free <see cref="Conv2d"/> followed by a BN with
    /// <see cref="BatchNorm2d.RecomputeInput"/> runs as one op (<see cref="Conv2d.ForwardWith"/>).
    /// </summary>
    public static Tensor RunChain(IReadOnlyList<Module> modules, Tensor x)
    {
        ArgumentNullException.ThrowIfNull(modules);
        ArgumentNullException.ThrowIfNull(x);
        var y = x;
        for (var i = 0; i < modules.Count; i++)
        {
            Tensor next;
            if (
                modules[i] is BatchNorm2d { FuseWithNeuron: true, IsTraining: true } bn
                && i + 1 < modules.Count
                && modules[i + 1] is FusedNeuronNode { StepMode: StepMode.Multi } sn
                && y.Rank == 5
            )
            {
                next = sn.ForwardAfter(bn, y);
                i++;
            }
            else if (
                modules[i] is Conv2d { Bias: null } conv
                && i + 1 < modules.Count
                && modules[i + 1] is BatchNorm2d { RecomputeInput: true, IsTraining: true } cbn
                && cbn.Channels == conv.OutChannels
                && !(
                    cbn.FuseWithNeuron
                    && i + 2 < modules.Count
                    && modules[i + 2] is FusedNeuronNode { StepMode: StepMode.Multi }
                )
            )
            {
                next = conv.ForwardWith(cbn, y);
                i++;
            }
            else
                next = Run(modules[i], y);
            if (!ReferenceEquals(y, x))
                y.Dispose();
            y = next;
        }
        return ReferenceEquals(y, x) ? x.Reshape(x.Shape.ToArray()) : y;
    }

    /// <summary>Shape inference for a layer or a spiking neuron (neurons keep the shape).</summary>
    public static int[] Infer(Module module, int[] shape, ShapeTrace trace) =>
        module switch
        {
            Layer l => l.InferShape(shape, trace),
            NeuronNode n => trace.Neuron(n, shape),
            null => throw new ArgumentNullException(nameof(module)),
            _ => throw new ArgumentException(
                $"Layer.Infer: module {module.GetType().Name} is neither a Layer nor a NeuronNode",
                nameof(module)
            ),
        };

    /// <summary>Parameters of a tree, counting shape-only layers' deferred parameters.</summary>
    public static long CountParameters(Module module)
    {
        ArgumentNullException.ThrowIfNull(module);
        long total = 0;
        foreach (var (_, m) in module.NamedModules())
        {
            if (m is Layer { IsShapeOnly: true } l)
                total += l.DeferredParameterCount;
        }
        return total + module.ParameterCount();
    }
}
