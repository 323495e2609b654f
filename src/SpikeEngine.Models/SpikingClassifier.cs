using SpikeEngine.Nn;

namespace SpikeEngine.Models;

/// <summary>
/// Base of the registry's models: multi-step images <c>[T, N, C, H, W]</c> with
/// <see cref="ModelOptions.InChannels"/> channels go through the model's body, then global average
/// pooling (<c>avgpool</c>) and the linear classifier (<c>fc</c>) at every time step,
/// <c>[T, N, classes]</c>. A subclass builds its body, then calls <see cref="AddHead"/>, which also
/// applies <see cref="ModelOptions.Memory"/> to the whole tree.
/// </summary>
public abstract class SpikingClassifier : Layer
{
    /// <summary>Checks the options every model needs (classes, input channels, neuron factory).</summary>
    protected SpikingClassifier(ModelOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var model = GetType().Name;
        if (options.NumClasses <= 0)
            throw new ArgumentException(
                $"{model}: numClasses must be positive, got {options.NumClasses}",
                nameof(options)
            );
        if (options.InChannels <= 0)
            throw new ArgumentException(
                $"{model}: inChannels must be positive, got {options.InChannels}",
                nameof(options)
            );
        if (options.Neuron is null)
            throw new ArgumentException(
                $"{model}: options.Neuron (the neuron factory) is required",
                nameof(options)
            );
        Options = options;
    }

    public ModelOptions Options { get; }

    /// <summary>Channels entering the classifier.</summary>
    public int Features { get; private set; }

    public AdaptiveAvgPool2d Avgpool { get; private set; } = null!;

    public Linear Fc { get; private set; } = null!;

    /// <summary>The neuron factory of the options.</summary>
    protected Func<NeuronNode> Neuron => Options.Neuron!;

    /// <summary>
    /// Registers <c>avgpool</c> and <c>fc</c> (<paramref name="features"/> → classes, initialised
    /// from <paramref name="fcSeed"/>) and applies the memory options: the constructor's last step.
    /// </summary>
    protected void AddHead(int features, ulong fcSeed)
    {
        Features = features;
        Avgpool = Child("avgpool", new AdaptiveAvgPool2d(1, 1));
        Fc = Child("fc", new Linear(features, Options.NumClasses, seed: fcSeed));
        Options.Memory.ApplyTo(this);
    }

    /// <summary>The body: <c>[T, N, C, H, W]</c> → <c>[T, N, Features, H', W']</c>.</summary>
    protected abstract Tensor ForwardBody(Tensor x);

    /// <summary>Shape-only twin of <see cref="ForwardBody"/>.</summary>
    protected abstract int[] InferBody(int[] shape, ShapeTrace trace);

    public sealed override Tensor Forward(Tensor x) // (T, N, C, H, W) → (T, N, classes)
    {
        ArgumentNullException.ThrowIfNull(x);
        CheckInput(x.Rank, x.Rank == 5 ? x.Shape[2] : 0, x.Shape.ToString());
        using var y = ForwardBody(x);
        using var pooled = Avgpool.Forward(y);
        using var flat = pooled.Reshape(pooled.Shape[0], pooled.Shape[1], Features);
        return Fc.Forward(flat);
    }

    public sealed override int[] InferShape(int[] shape, ShapeTrace trace)
    {
        ArgumentNullException.ThrowIfNull(shape);
        ArgumentNullException.ThrowIfNull(trace);
        CheckInput(shape.Length, shape.Length == 5 ? shape[2] : 0, ShapeTrace.Format(shape));
        var s = Avgpool.InferShape(InferBody(shape, trace), trace);
        return Fc.InferShape([s[0], s[1], Features], trace);
    }

    private void CheckInput(int rank, int channels, string shape)
    {
        if (rank != 5 || channels != Options.InChannels)
            throw new ArgumentException(
                $"{GetType().Name}: input must be [T, N, {Options.InChannels}, H, W] (multi-step images), got {shape}",
                "x"
            );
    }
}
