namespace SpikeEngine.Nn;

/// <summary>
/// What a shape-only walk (<see cref="Module.InferShape"/>) records: elements entering spiking
/// neurons and bytes each op keeps for backward, for the shapes walked (the model table walks
/// one sample and one time step, <c>[1, 1, C, H, W]</c>).
/// </summary>
/// <remarks>
/// Saved bytes follow what the engine's autograd nodes keep in float32: conv, BN and linear
/// keep their input (4 B per input element); a neuron keeps its charge H (4 B per element);
/// max pooling keeps a uint8 argmax per output element; an element-wise product (SEW AND/IAND)
/// keeps both operands; dropout keeps its mask; additions, average pooling and reshapes keep
/// nothing.
/// </remarks>
public sealed class ShapeTrace
{
    /// <summary>Elements that entered spiking neurons.</summary>
    public long NeuronElements { get; private set; }

    /// <summary>Number of neuron layers walked.</summary>
    public int NeuronLayers { get; private set; }

    /// <summary>Bytes kept for backward by the ops walked.</summary>
    public long SavedBytes { get; private set; }

    /// <summary>Records a neuron over <paramref name="shape"/>; returns the shape (neurons keep it).</summary>
    public int[] Neuron(NeuronNode neuron, int[] shape)
    {
        ArgumentNullException.ThrowIfNull(neuron);
        var n = Numel(shape);
        NeuronElements += n;
        NeuronLayers++;
        SavedBytes += 4 * n;
        return shape;
    }

    /// <summary>Records <paramref name="bytes"/> kept for backward.</summary>
    public void Saved(long bytes)
    {
        if (bytes < 0)
            throw new ArgumentException(
                $"ShapeTrace.Saved: bytes must be non-negative, got {bytes}",
                nameof(bytes)
            );
        SavedBytes += bytes;
    }

    /// <summary>Product of the dimensions.</summary>
    public static long Numel(int[] shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        long n = 1;
        foreach (var d in shape)
            n *= d;
        return n;
    }

    /// <summary>"[a, b, c]" for messages.</summary>
    public static string Format(int[] shape) =>
        shape is null ? "null" : "[" + string.Join(", ", shape) + "]";
}
