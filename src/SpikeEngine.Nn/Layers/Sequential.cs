namespace SpikeEngine.Nn;

/// <summary>
/// Runs layers and spiking neurons in order. Children are named <c>0</c>, <c>1</c>, ... unless
/// added with <see cref="Add"/> under a name (as torchvision's <c>nn.Sequential</c>).
/// </summary>
/// <remarks>
/// The modules form one <see cref="ModuleChain"/>: the memory options decide which neighbours run
/// fused (<see cref="ModuleChain.Steps"/>), re-planned when a module is added.
/// </remarks>
public sealed class Sequential : Layer
{
    private readonly List<Module> _modules = [];
    private ModuleChain _chain;

    public Sequential(params Module[] modules)
    {
        ArgumentNullException.ThrowIfNull(modules);
        _chain = Chain(_modules);
        foreach (var m in modules)
            Add(_modules.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), m);
    }

    /// <summary>The modules in order.</summary>
    public IReadOnlyList<Module> Modules => _modules;

    /// <summary>The chain of the modules and its fusion plan.</summary>
    public ModuleChain Plan => _chain;

    /// <summary>Appends a module under <paramref name="name"/> (the chain runs unfused until the memory options are applied again).</summary>
    public Sequential Add(string name, Module module)
    {
        if (module is null)
            throw new ArgumentException($"Sequential: module '{name}' is null", nameof(module));
        _modules.Add(Child(name, module));
        _chain = ReplaceChain(_chain, _modules);
        return this;
    }

    /// <summary>
    /// Steps of the plan per recomputed segment (<see cref="Recompute"/>); 0 (the default) runs
    /// the chain without recomputation. Set by <see cref="MemoryOptions.ApplyTo"/> on the stages
    /// of a model.
    /// </summary>
    public int SegmentSteps { get; set; }

    /// <summary>
    /// A recomputed segment keeps its input compact: bit-packed when it is spikes, as bytes when
    /// it is spike counts (<see cref="Recompute.CompactDType(Tensor)"/>).
    /// </summary>
    public bool PackSegmentInput { get; set; }

    public override Tensor Forward(Tensor x)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (SegmentSteps <= 0)
            return _chain.Forward(x);
        var steps = _chain.Steps;
        var y = x;
        for (var from = 0; from < steps.Count; from += SegmentSteps)
        {
            var (a, b) = (from, Math.Min(steps.Count, from + SegmentSteps));
            var modules = _modules.GetRange(
                steps[a].Start,
                steps[b - 1].Start + steps[b - 1].Count - steps[a].Start
            );
            var next = Recompute.Segment(
                modules,
                s => _chain.ForwardSteps(s, a, b),
                y,
                PackSegmentInput
            );
            if (!ReferenceEquals(y, x))
                y.Dispose();
            y = next;
        }
        return ReferenceEquals(y, x) ? x.Reshape(x.Shape.ToArray()) : y;
    }

    public override int[] InferShape(int[] shape, ShapeTrace trace)
    {
        ArgumentNullException.ThrowIfNull(trace);
        if (SegmentSteps <= 0 || trace.Layout is null)
            return _chain.InferShape(shape, trace);
        var s = shape;
        var steps = _chain.Steps.Count;
        for (var from = 0; from < steps; from += SegmentSteps)
        {
            // A recomputed segment keeps its input only.
            trace.KeptSegmentInput(s, PackSegmentInput);
            s = _chain.InferSteps(
                s,
                trace.Discarding(),
                from,
                Math.Min(steps, from + SegmentSteps)
            );
        }
        return s;
    }
}
