using SpikeEngine.Nn;

namespace SpikeEngine.Training;

/// <summary>
/// What the trainer needs from a model: the module tree (parameters, buffers, train/eval, state
/// reset), the forward map from the time-major input <c>[T, N, C, H, W]</c> to the output
/// <c>[T, N, K]</c>, and optionally per-layer firing rates of the last forward pass.
/// </summary>
public sealed class ClassifierModel : IDisposable
{
    public ClassifierModel(
        string name,
        Module module,
        Func<Tensor, Tensor> forward,
        Func<IReadOnlyDictionary<string, double>>? firingRates = null
    )
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentNullException.ThrowIfNull(forward);
        Name = name;
        Module = module;
        Forward = forward;
        FiringRates = firingRates;
    }

    /// <summary>Registry name (<c>danet-mnist</c>).</summary>
    public string Name { get; }

    public Module Module { get; }

    /// <summary>(T, N, C, H, W) → (T, N, K).</summary>
    public Func<Tensor, Tensor> Forward { get; }

    /// <summary>Mean spike rate per neuron layer over the last forward pass; null when the model has no hook.</summary>
    public Func<IReadOnlyDictionary<string, double>>? FiringRates { get; }

    /// <summary>Parameters then buffers with dotted names, as saved in checkpoints.</summary>
    public IEnumerable<(string Name, Tensor Tensor)> StateTensors() =>
        Module.NamedParameters().Concat(Module.NamedBuffers());

    public void Dispose() => Module.Dispose();
}
