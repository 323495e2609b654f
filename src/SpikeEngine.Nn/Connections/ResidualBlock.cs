using System.Globalization;

namespace SpikeEngine.Nn;

/// <summary>ResNet block shapes (He et al. 2016; torchvision's stride-on-3×3 bottleneck, "ResNet v1.5").</summary>
public enum BlockKind
{
    /// <summary>3×3 (stride) → 3×3; expansion 1.</summary>
    Basic,

    /// <summary>1×1 → 3×3 (stride) → 1×1 to 4× width; expansion 4.</summary>
    Bottleneck,
}

/// <summary>Where a residual branch puts its neurons.</summary>
public enum Activation
{
    /// <summary>conv–BN–neuron units: branch input and output are spikes (Spiking ResNet, SEW, DANet-post).</summary>
    Post,

    /// <summary>neuron–conv–BN units: branch input and output are real-valued (MS-ResNet, DANet-pre).</summary>
    Pre,
}

/// <summary>How a block that changes shape maps its input onto the shortcut.</summary>
public enum DownsampleKind
{
    /// <summary>
    /// A neuron on the shortcut: conv–BN–neuron for post-activation blocks (SEW ResNet's
    /// <c>downsample</c> + <c>downsample_sn</c>), neuron–conv–BN for pre-activation blocks. The
    /// additive chain is cut at the stage boundary.
    /// </summary>
    Spiking,

    /// <summary>conv1×1–BN on the stream, no neuron: the shortcut stays linear across stages.</summary>
    Additive,
}

/// <summary>
/// Base of the residual blocks: registers the branch's units directly on the block with
/// torchvision/SpikingJelly names (<c>conv1</c>, <c>bn1</c>, <c>sn1</c>, ...), so weights map name
/// for name, and runs them in order as the residual function.
/// </summary>
public abstract class ResidualBlock : Layer
{
    private readonly List<Module> _branch = [];
    private readonly List<BatchNorm2d> _bns = [];
    private readonly ModuleChain _branchChain;

    /// <param name="kind">basic or bottleneck.</param>
    /// <param name="activation">conv–BN–neuron (post) or neuron–conv–BN (pre) units.</param>
    /// <param name="inChannels">channels entering the block.</param>
    /// <param name="planes">block width; the output has planes·expansion channels.</param>
    /// <param name="stride">stride of the 3×3 conv.</param>
    /// <param name="neuron">neuron factory.</param>
    /// <param name="seed">a function returning a fresh seed per conv (deterministic per model seed).</param>
    /// <param name="lastNeuronInBranch">false for Spiking ResNet, whose last neuron follows the addition.</param>
    protected ResidualBlock(
        BlockKind kind,
        Activation activation,
        int inChannels,
        int planes,
        int stride,
        Func<NeuronNode> neuron,
        Func<ulong> seed,
        bool lastNeuronInBranch = true
    )
    {
        ArgumentNullException.ThrowIfNull(neuron);
        ArgumentNullException.ThrowIfNull(seed);
        if (inChannels <= 0 || planes <= 0 || stride <= 0)
            throw new ArgumentException(
                $"{GetType().Name}: inChannels, planes and stride must be positive, got {inChannels}, {planes}, {stride}"
            );
        Kind = kind;
        InChannels = inChannels;
        Planes = planes;
        Stride = stride;
        OutChannels = planes * Expansion(kind);
        var units = kind switch
        {
            BlockKind.Basic => new[] { (3, inChannels, planes, stride), (3, planes, planes, 1) },
            BlockKind.Bottleneck => new[]
            {
                (1, inChannels, planes, 1),
                (3, planes, planes, stride),
                (1, planes, OutChannels, 1),
            },
            _ => throw new ArgumentException(
                $"{GetType().Name}: unknown block kind {kind}",
                nameof(kind)
            ),
        };
        for (var i = 0; i < units.Length; i++)
        {
            var (k, cin, cout, s) = units[i];
            var id = (i + 1).ToString(CultureInfo.InvariantCulture);
            var last = i == units.Length - 1;
            if (activation == Activation.Pre)
                _branch.Add(Child("sn" + id, NewNeuron(neuron)));
            _branch.Add(Child("conv" + id, new Conv2d(cin, cout, k, s, k / 2, seed: seed())));
            var bn = Child("bn" + id, new BatchNorm2d(cout));
            _bns.Add(bn);
            _branch.Add(bn);
            if (activation == Activation.Post && !last)
                _branch.Add(Child("sn" + id, NewNeuron(neuron)));
            if (activation == Activation.Post && last)
            {
                var sn = NewNeuron(neuron);
                if (lastNeuronInBranch)
                    _branch.Add(Child("sn" + id, sn));
                else
                    LastNeuronName = ("sn" + id, sn);
            }
        }
        _branchChain = Chain(_branch);
    }

    /// <summary>Channel expansion of a block kind (1 or 4).</summary>
    public static int Expansion(BlockKind kind) => kind == BlockKind.Bottleneck ? 4 : 1;

    public BlockKind Kind { get; }
    public int InChannels { get; }
    public int Planes { get; }
    public int Stride { get; }
    public int OutChannels { get; }

    /// <summary>True when the shortcut needs a downsample (stride or channel change).</summary>
    public bool NeedsDownsample => Stride != 1 || InChannels != OutChannels;

    /// <summary>The branch's last BN (the one zero-initialised by <c>zeroInitResidual</c>).</summary>
    public BatchNorm2d LastBn => _bns[^1];

    /// <summary>Spiking ResNet's post-addition neuron, built but not registered (the subclass registers it).</summary>
    protected (string Name, NeuronNode Neuron)? LastNeuronName { get; }

    /// <summary>The branch F as a chain, with its fusion plan.</summary>
    public ModuleChain Branch => _branchChain;

    /// <summary>The residual function F(x).</summary>
    public Tensor Residual(Tensor x) // (T, N, C, H, W) → (T, N, C', H', W')
    {
        ArgumentNullException.ThrowIfNull(x);
        return _branchChain.Forward(x);
    }

    /// <summary>Shape-only twin of <see cref="Residual"/>.</summary>
    public int[] InferResidual(int[] shape, ShapeTrace trace) =>
        _branchChain.InferShape(shape, trace);

    /// <summary>conv1×1 (stride)–BN as torchvision's <c>downsample</c> (children <c>0</c> and <c>1</c>).</summary>
    protected Sequential NewDownsampleConvBn(Func<ulong> seed) =>
        new(
            new Conv2d(InChannels, OutChannels, 1, Stride, 0, seed: seed()),
            new BatchNorm2d(OutChannels)
        );

    private static NeuronNode NewNeuron(Func<NeuronNode> neuron) =>
        neuron()
        ?? throw new ArgumentException(
            "ResidualBlock: the neuron factory returned null",
            nameof(neuron)
        );
}
