namespace SpikeEngine.Nn;

/// <summary>Firing statistics of the spiking layers of a model, by dotted module name.</summary>
public static class FiringStats
{
    /// <summary>
    /// The firing rate (spikes per neuron-step) of each fused neuron in <paramref name="model"/>
    /// during its last forward pass, keyed by dotted module name (<c>layer1.0.sn1</c>; the root is "").
    /// Neurons that have not run yet are left out.
    /// </summary>
    public static IReadOnlyDictionary<string, double> Collect(Module model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var rates = new Dictionary<string, double>();
        foreach (var (name, m) in model.NamedModules())
        {
            if (m is FusedNeuronNode n && n.LastNeuronSteps > 0)
                rates[name] = n.LastFiringRate;
        }
        return rates;
    }

    /// <summary>Spike counts of the last forward pass by dotted module name.</summary>
    public static IReadOnlyDictionary<string, long> CollectCounts(Module model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var counts = new Dictionary<string, long>();
        foreach (var (name, m) in model.NamedModules())
        {
            if (m is FusedNeuronNode n && n.LastNeuronSteps > 0)
                counts[name] = n.LastSpikeCount;
        }
        return counts;
    }
}
