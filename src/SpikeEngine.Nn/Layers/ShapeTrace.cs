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
/// <remarks>
/// With a layout (<see cref="ShapeTrace(MemoryOptions)"/>) the walk instead predicts, byte for
/// byte, what a training step in that layout keeps (<see cref="Nn.MemoryOptions"/>, docs/memory.md):
/// walk the real <c>[T, N, C, H, W]</c> shape. Each shape array then stands for one tensor value
/// (views share it, every op returns a new array), so a float32 tensor kept by two ops counts once
/// (the ledger of the measured report counts each storage once), spikes (a neuron's output) are kept
/// bit-packed by convs and recomputed segments, each BN keeps its per-channel mean and inverse
/// standard deviation, and the fusion plan of every chain (<see cref="ModuleChain.Steps"/>) decides
/// which inputs are kept at all. The prediction assumes every fused BN → neuron pair takes its fused
/// path (|γ| ≥ <see cref="BnNeuronOps.GammaMin"/>: true unless the residual BNs start at zero).
/// </remarks>
public sealed class ShapeTrace
{
    private readonly HashSet<int[]> _binary = new(ReferenceEqualityComparer.Instance);
    private readonly Dictionary<int[], int> _counts = new(ReferenceEqualityComparer.Instance);
    private readonly HashSet<int[]> _keptFloat = new(ReferenceEqualityComparer.Instance);
    private readonly ShapeTrace? _parent;

    /// <summary>The legacy float32 walk (see the summary).</summary>
    public ShapeTrace() { }

    /// <summary>A walk that predicts the bytes kept in <paramref name="layout"/> (see the remarks).</summary>
    public ShapeTrace(MemoryOptions layout) => Layout = layout;

    // A walk whose bytes are dropped (the inside of a fused step or a recomputed segment) but whose
    // neurons and spike marks count in the parent's.
    private ShapeTrace(ShapeTrace parent)
    {
        _parent = parent;
        Layout = parent.Layout;
        _binary = parent._binary;
        _counts = parent._counts;
    }

    /// <summary>The layout predicted; null for the legacy float32 accounting.</summary>
    public MemoryOptions? Layout { get; }

    /// <summary>A walk that shares this one's neuron counts and spike marks but drops the bytes it records.</summary>
    public ShapeTrace Discarding() => new(this);

    /// <summary>True when <paramref name="value"/> (a shape array standing for a tensor) holds spikes.</summary>
    public bool IsBinary(int[] value) => _binary.Contains(value);

    /// <summary>
    /// The largest spike count <paramref name="value"/> can hold (<see cref="Tensor.CountBound"/>):
    /// 1 for spikes, what <see cref="MarkCounts"/> recorded for a sum of them, 0 when unknown.
    /// </summary>
    public int CountBound(int[] value) => IsBinary(value) ? 1 : _counts.GetValueOrDefault(value);

    /// <summary>Marks <paramref name="value"/> as spike counts of at most <paramref name="bound"/> (SEW's ADD).</summary>
    public void MarkCounts(int[] value, int bound)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (bound > 0)
            _counts[value] = bound;
    }

    /// <summary>
    /// Records <paramref name="value"/> kept for backward by an op: bit-packed (one bit per element,
    /// rounded up to bytes, each time) when <paramref name="packable"/>, the layout packs spikes and
    /// the value holds spikes; otherwise float32, counted once per value. Legacy walk: 4 B per element.
    /// </summary>
    public void Kept(int[] value, bool packable = false)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (Layout is not { } layout)
        {
            Saved(4 * Numel(value));
            return;
        }
        if (packable && layout.PackSpikes && IsBinary(value))
            Saved((Numel(value) + 7) / 8);
        else if (_keptFloat.Add(value))
            Saved(4 * Numel(value));
    }

    /// <summary>
    /// Records <paramref name="value"/> kept as the input of a recomputed segment: in
    /// <see cref="Recompute.CompactDType(bool, int)"/> (bits for spikes, bytes for spike counts)
    /// when <paramref name="compact"/> and the layout packs spikes, each time; otherwise as
    /// <see cref="Kept"/> keeps a float32 value.
    /// </summary>
    public void KeptSegmentInput(int[] value, bool compact)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (Layout is { PackSpikes: true } && compact)
        {
            switch (Recompute.CompactDType(IsBinary(value), CountBound(value)))
            {
                case DType.Bit:
                    Saved((Numel(value) + 7) / 8);
                    return;
                case DType.UInt8:
                    Saved(Numel(value));
                    return;
            }
        }
        Kept(value);
    }

    /// <summary>Records a BN's per-channel mean and inverse standard deviation (layout walk only).</summary>
    public void BatchStatistics(int channels)
    {
        if (Layout is not null)
            Saved(8L * channels);
    }

    /// <summary>Elements that entered spiking neurons.</summary>
    public long NeuronElements { get; private set; }

    /// <summary>Number of neuron layers walked.</summary>
    public int NeuronLayers { get; private set; }

    /// <summary>Bytes kept for backward by the ops walked.</summary>
    public long SavedBytes { get; private set; }

    /// <summary>
    /// Records a neuron over <paramref name="shape"/> and returns its output's shape: the same array
    /// in the legacy walk, a new one marked as spikes in a layout walk.
    /// </summary>
    public int[] Neuron(NeuronNode neuron, int[] shape)
    {
        ArgumentNullException.ThrowIfNull(neuron);
        ArgumentNullException.ThrowIfNull(shape);
        var n = Numel(shape);
        CountNeuron(n);
        if (Layout is null)
        {
            SavedBytes += 4 * n;
            return shape;
        }
        var state = neuron is FusedNeuronNode f ? f.StateDType : DType.Float32;
        Saved(state.ByteCount(n));
        var spikes = (int[])shape.Clone();
        _binary.Add(spikes);
        return spikes;
    }

    private void CountNeuron(long n)
    {
        NeuronElements += n;
        NeuronLayers++;
        _parent?.CountNeuron(n);
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
