namespace SpikeEngine.Nn;

/// <summary>What a model saves for backward (docs/memory.md).</summary>
public enum MemoryLayout
{
    /// <summary>Every op saves float32 tensors: conv inputs, BN inputs, neuron H.</summary>
    Standard,

    /// <summary>
    /// Conv inputs that are spikes saved at 1 bit per element, neuron H in float16, BN → neuron
    /// pairs fused so that only the neuron's H is saved, and the other conv → BN pairs recompute
    /// the conv output in backward instead of saving it.
    /// </summary>
    Lean,
}

/// <summary>
/// The memory options of a model, one per technique (ARCHITECTURE.md section 6), applied to every
/// layer of a module tree with <see cref="ApplyTo"/>.
/// </summary>
/// <param name="PackSpikes">Convs save binary inputs bit-packed (exact).</param>
/// <param name="StateDType">Storage type of every neuron's saved H (float32, bfloat16, float16).</param>
/// <param name="FuseBnNeuron">BN → neuron pairs run as one op saving only H.</param>
/// <param name="RecomputeConvBn">
/// conv → BN pairs not followed by a neuron save only the conv input; backward recomputes the conv
/// output (one extra conv forward).
/// </param>
public readonly record struct MemoryOptions(
    bool PackSpikes,
    DType StateDType,
    bool FuseBnNeuron,
    bool RecomputeConvBn = false
)
{
    /// <summary>Everything float32, nothing packed, fused or recomputed.</summary>
    public static MemoryOptions Standard => new(false, DType.Float32, false, false);

    /// <summary>Bit-packed spikes, float16 H, BN → neuron fusion, conv → BN recomputation.</summary>
    public static MemoryOptions Lean => new(true, DType.Float16, true, true);

    /// <summary>The options of a layout.</summary>
    public static MemoryOptions For(MemoryLayout layout) =>
        layout switch
        {
            MemoryLayout.Standard => Standard,
            MemoryLayout.Lean => Lean,
            _ => throw new ArgumentException(
                $"MemoryOptions: unknown layout {layout}",
                nameof(layout)
            ),
        };

    /// <summary>Sets these options on every conv, BN and fused neuron under <paramref name="root"/>.</summary>
    public void ApplyTo(Module root)
    {
        ArgumentNullException.ThrowIfNull(root);
        if (StateDType is not (DType.Float32 or DType.BFloat16 or DType.Float16))
            throw new ArgumentException(
                $"MemoryOptions: StateDType must be float32, bfloat16 or float16, got {StateDType.Name()}",
                nameof(StateDType)
            );
        foreach (var (_, m) in root.NamedModules())
        {
            switch (m)
            {
                case Conv2d conv:
                    conv.PackBinaryInput = PackSpikes;
                    break;
                case BatchNorm2d bn:
                    // A synchronised BN takes global statistics, which the fused ops do not.
                    bn.FuseWithNeuron = FuseBnNeuron && bn.Sync is null;
                    bn.RecomputeInput = RecomputeConvBn && bn.Sync is null;
                    break;
                case FusedNeuronNode neuron:
                    neuron.StateDType = StateDType;
                    break;
            }
        }
    }
}
