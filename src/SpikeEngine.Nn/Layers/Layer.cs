namespace SpikeEngine.Nn;

/// <summary>
/// Base of the stateless layers, blocks and models: a <see cref="Module"/> that can be built
/// shape-only (<see cref="ShapeOnly"/>: parameters counted, never allocated), so that
/// <see cref="Module.InferShape"/> walks a 152-layer model in microseconds (the model table counts
/// parameters, neuron elements and saved activations this way). Stateless layers accept
/// single-step <c>[N, ...]</c> or multi-step <c>[T, N, ...]</c> input and fold time into the batch
/// for the latter (see <see cref="SeqToBatch"/>).
/// </summary>
public abstract class Layer : Module
{
    [ThreadStatic]
    private static int t_shapeOnly;

    private long _deferredParameters;

    protected Layer() => IsShapeOnly = t_shapeOnly > 0;

    /// <summary>
    /// True when this layer was built inside <see cref="ShapeOnly"/>: its parameters were counted
    /// but never allocated, so only <see cref="Module.InferShape"/> may run.
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
