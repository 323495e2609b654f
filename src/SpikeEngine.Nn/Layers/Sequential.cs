namespace SpikeEngine.Nn;

/// <summary>
/// Runs layers and spiking neurons in order. Children are named <c>0</c>, <c>1</c>, ... unless
/// added with <see cref="Add"/> under a name (as torchvision's <c>nn.Sequential</c>).
/// </summary>
public sealed class Sequential : Layer
{
    private readonly List<Module> _modules = [];

    public Sequential(params Module[] modules)
    {
        ArgumentNullException.ThrowIfNull(modules);
        foreach (var m in modules)
            Add(_modules.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), m);
    }

    /// <summary>The modules in order.</summary>
    public IReadOnlyList<Module> Modules => _modules;

    /// <summary>Appends a layer or neuron under <paramref name="name"/>.</summary>
    public Sequential Add(string name, Module module)
    {
        if (module is not (Layer or NeuronNode))
            throw new ArgumentException(
                $"Sequential: module '{name}' ({module?.GetType().Name ?? "null"}) must be a Layer or a NeuronNode",
                nameof(module)
            );
        _modules.Add(Child(name, module));
        return this;
    }

    public override Tensor Forward(Tensor x)
    {
        ArgumentNullException.ThrowIfNull(x);
        return RunChain(_modules, x);
    }

    public override int[] InferShape(int[] shape, ShapeTrace trace)
    {
        var s = shape;
        foreach (var m in _modules)
            s = Infer(m, s, trace);
        return s;
    }
}
