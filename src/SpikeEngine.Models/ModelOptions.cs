using SpikeEngine.Nn;

namespace SpikeEngine.Models;

/// <summary>The first layers of a model.</summary>
public enum Stem
{
    /// <summary>7×7/2 conv (pad 3) + BN (+ neuron) + 3×3/2 max pool (pad 1): 224 px inputs.</summary>
    ImageNet,

    /// <summary>3×3/1 conv (pad 1) + BN (+ neuron), no pool: 32 px inputs.</summary>
    Cifar,
}

/// <summary>The residual-connection families of the model zoo.</summary>
public enum Family
{
    /// <summary>Spiking ResNet: addition before the neuron (not densely additive).</summary>
    SpikingResNet,

    /// <summary>SEW ResNet: g(SN(F(x)), x) after the neuron; densely additive with ADD.</summary>
    SewResNet,

    /// <summary>MS-ResNet: membrane shortcut, pre-activation branches, conv–BN downsample on the stream.</summary>
    MsResNet,

    /// <summary>DANet-post: DA stages over spike counts (addition after the neuron).</summary>
    DaNetPost,

    /// <summary>DANet-pre: DA stages over membrane inputs (each branch starts with a neuron).</summary>
    DaNetPre,
}

/// <summary>Options of every registered model (SpikingJelly's <c>**kwargs</c> as a record).</summary>
public sealed record ModelOptions
{
    /// <summary>Classifier outputs.</summary>
    public int NumClasses { get; init; } = 1000;

    /// <summary>Input channels (3 for images, 2 for DVS polarity frames).</summary>
    public int InChannels { get; init; } = 3;

    public Stem Stem { get; init; } = Stem.ImageNet;

    /// <summary>Builds one spiking neuron layer; called once per neuron layer (required).</summary>
    public Func<NeuronNode>? Neuron { get; init; }

    /// <summary>Shortcut of the stage-opening blocks of the DANet family (ignored by the others).</summary>
    public DownsampleKind Downsample { get; init; } = DownsampleKind.Additive;

    /// <summary>SEW connect function (SEW ResNet only).</summary>
    public SewConnect Connect { get; init; } = SewConnect.Add;

    /// <summary>Zero-initialise each block's last BN γ, so every block starts as its shortcut.</summary>
    public bool ZeroInitResidual { get; init; }

    /// <summary>
    /// What the layers save for backward (docs/memory.md): <see cref="MemoryOptions.Lean"/>
    /// (default: bit-packed spikes, float16 neuron state, BN → neuron fusion) or
    /// <see cref="MemoryOptions.Standard"/> (all float32).
    /// </summary>
    public MemoryOptions Memory { get; init; } = MemoryOptions.Lean;

    /// <summary>Seed of every initialiser in the model (same seed, same weights).</summary>
    public ulong Seed { get; init; }

    /// <summary>
    /// The options <c>spike train</c> and <c>spike eval</c> build a registered model with:
    /// LIF neurons (τ = 2, v_th = 1, hard reset to 0, decay_input, detach_reset), the CIFAR stem
    /// for inputs of 64 px or less (ImageNet stem above), and <paramref name="memory"/>
    /// (lean when null).
    /// </summary>
    public static ModelOptions ForInput(
        int numClasses,
        int channels,
        int height,
        ulong seed,
        MemoryOptions? memory = null
    ) =>
        new()
        {
            NumClasses = numClasses,
            InChannels = channels,
            Stem = height <= 64 ? Stem.Cifar : Stem.ImageNet,
            Neuron = () => new LifNode(detachReset: true),
            Seed = seed,
            Memory = memory ?? MemoryOptions.Lean,
        };
}
