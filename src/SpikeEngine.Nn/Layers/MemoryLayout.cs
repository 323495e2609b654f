using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

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

    /// <summary>
    /// Lean plus recomputation: each segment of residual blocks keeps only its input and replays
    /// its forward pass in backward (<see cref="Recompute"/>); gradients are bit-identical to lean's.
    /// </summary>
    Min,
}

/// <summary>
/// The memory options of a model, one per technique (docs/memory.md, "What each op saves for backward"), applied to every
/// layer of a module tree with <see cref="ApplyTo"/>.
/// </summary>
/// <param name="PackSpikes">Convs save binary inputs bit-packed (exact).</param>
/// <param name="StateDType">Storage type of every neuron's saved H (float32, bfloat16, float16).</param>
/// <param name="FuseBnNeuron">BN → neuron pairs run as one op saving only H.</param>
/// <param name="RecomputeConvBn">
/// conv → BN pairs not followed by a neuron save only the conv input; backward recomputes the conv
/// output (one extra conv forward).
/// </param>
/// <param name="RecomputeConvBnLimit">
/// With <paramref name="RecomputeConvBn"/>, the dearest recomputation accepted, in FLOPs per byte
/// of memory it frees (<see cref="RecomputeCost"/>): a conv whose recomputation costs more keeps
/// its output instead. 0 accepts every one.
/// </param>
/// <param name="RecomputeStages">
/// How many stages of residual blocks, counted from the input, run as recomputed segments
/// (<see cref="Recompute"/>): 0 none, <see cref="AllStages"/> every stage,
/// <see cref="AllButLastStage"/> every stage but the last (the min layout). The first stages hold
/// the largest activations, so recomputing them first frees the most memory per replayed block.
/// </param>
/// <param name="SegmentBlocks">
/// Blocks per recomputed segment; 0 chooses by block kind (<see cref="SegmentBlocksFor"/>).
/// </param>
/// <remarks>
/// The one text form, parsed once (<see cref="Parse"/>) from the CLI's <c>--memory</c> and written
/// back by <see cref="ToString"/> (checkpoints record it so): a layout name, <c>standard</c>,
/// <c>lean</c> or <c>min</c>, optionally followed by overrides, <c>lean,state=bf16</c>. Keys:
/// <c>pack_spikes</c>, <c>state</c> (fp32, bf16, fp16), <c>fuse_bn_neuron</c>,
/// <c>recompute_conv_bn</c> (true/false), <c>recompute_conv_bn_limit</c> (FLOPs per byte, or
/// <c>none</c>), <c>recompute_stages</c> (a count, <c>all</c> or <c>all_but_last</c>),
/// <c>segment</c> (blocks per segment, or <c>auto</c>).
/// </remarks>
[JsonConverter(typeof(MemoryOptionsJsonConverter))]
public readonly record struct MemoryOptions(
    bool PackSpikes,
    DType StateDType,
    bool FuseBnNeuron,
    bool RecomputeConvBn = false,
    int RecomputeStages = 0,
    int SegmentBlocks = 0,
    int RecomputeConvBnLimit = 0
)
{
    /// <summary>
    /// The lean layout's <see cref="RecomputeConvBnLimit"/>: a 3×3 conv recomputes its output
    /// up to 113 input channels, a 1×1 conv up to 1024 (docs/memory.md, "Which conv → BN outputs lean recomputes").
    /// </summary>
    public const int LeanRecomputeLimit = 512;

    /// <summary>
    /// What recomputing <paramref name="conv"/>'s output costs, in FLOPs per byte of memory it
    /// frees: 2·C·KH·KW multiply-adds per output element against the 4 bytes of its float32
    /// value, C·KH·KW / 2.
    /// </summary>
    public static double RecomputeCost(Conv2d conv)
    {
        ArgumentNullException.ThrowIfNull(conv);
        return conv.InChannels * (double)conv.Kernel * conv.Kernel / 2;
    }

    /// <summary>
    /// Whether a conv → BN pair not followed by a neuron recomputes the conv output in backward
    /// (<see cref="RecomputeConvBn"/> and, with a <see cref="RecomputeConvBnLimit"/>, a cost within it).
    /// </summary>
    public bool RecomputesConvBn(Conv2d conv) =>
        RecomputeConvBn
        && (RecomputeConvBnLimit <= 0 || RecomputeCost(conv) <= RecomputeConvBnLimit);

    /// <summary><see cref="RecomputeStages"/> value for every stage.</summary>
    public const int AllStages = int.MaxValue;

    /// <summary>
    /// <see cref="RecomputeStages"/> value for every stage but the last (the only stage of a
    /// one-stage model is recomputed). Backward runs the last stage first, while the step's memory
    /// is still far from its peak (the replay of the first stage), and frees what it kept before
    /// the other stages replay: recomputing it costs a forward of its blocks and lowers no peak
    /// (docs/memory.md, "Which stages min recomputes").
    /// </summary>
    public const int AllButLastStage = -1;

    /// <summary>Lean plus recomputation of every stage but the last, segments chosen by block kind.</summary>
    public static MemoryOptions Min => Lean with { RecomputeStages = AllButLastStage };

    /// <summary>How many of a model's <paramref name="stages"/> stages, counted from the input, are recomputed.</summary>
    public int RecomputedStages(int stages) =>
        RecomputeStages == AllButLastStage
            ? Math.Min(stages, Math.Max(1, stages - 1))
            : Math.Min(stages, RecomputeStages);

    /// <summary>
    /// Blocks per segment for a stage of <paramref name="kind"/> blocks: <see cref="SegmentBlocks"/>
    /// when set, else 1 for the first stage of a spiking stream (<paramref name="firstSpikingStage"/>:
    /// its blocks pass spikes or spike counts, which a segment keeps at one bit or one byte per
    /// element, and its replay at the largest resolution sets the step's peak), else 2 basic blocks
    /// or 3 bottleneck blocks (docs/memory.md, "Segment length").
    /// </summary>
    public int SegmentBlocksFor(BlockKind kind, bool firstSpikingStage = false) =>
        SegmentBlocks > 0 ? SegmentBlocks
        : firstSpikingStage ? 1
        : kind == BlockKind.Bottleneck ? 3
        : 2;

    /// <summary>Everything float32, nothing packed, fused or recomputed.</summary>
    public static MemoryOptions Standard => new(false, DType.Float32, false, false);

    /// <summary>Bit-packed spikes, float16 H, BN → neuron fusion, conv → BN recomputation.</summary>
    public static MemoryOptions Lean =>
        new(true, DType.Float16, true, true, RecomputeConvBnLimit: LeanRecomputeLimit);

    /// <summary>The options of a layout.</summary>
    public static MemoryOptions For(MemoryLayout layout) =>
        layout switch
        {
            MemoryLayout.Standard => Standard,
            MemoryLayout.Lean => Lean,
            MemoryLayout.Min => Min,
            _ => throw new ArgumentException(
                $"MemoryOptions: unknown layout {layout}",
                nameof(layout)
            ),
        };

    /// <summary>
    /// Parses the text form (see the remarks); an unknown layout, key or value throws an
    /// <see cref="ArgumentException"/> naming it and what is accepted.
    /// </summary>
    public static MemoryOptions Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var parts = text.Split(',', StringSplitOptions.TrimEntries);
        var options = parts[0].ToLowerInvariant() switch
        {
            "lean" => Lean,
            "standard" => Standard,
            "min" => Min,
            var s => throw new ArgumentException(
                $"--memory: expected standard, lean or min (optionally followed by ,key=value overrides), got '{s}'",
                nameof(text)
            ),
        };
        foreach (var part in parts.Skip(1))
        {
            var kv = part.Split('=', 2, StringSplitOptions.TrimEntries);
            var key = kv[0].ToLowerInvariant();
            var value = kv.Length == 2 ? kv[1].ToLowerInvariant() : "";
            options = key switch
            {
                "pack_spikes" => options with { PackSpikes = Bool(key, value) },
                "state" => options with { StateDType = ParseStateDType(value) },
                "fuse_bn_neuron" => options with { FuseBnNeuron = Bool(key, value) },
                "recompute_conv_bn" => options with { RecomputeConvBn = Bool(key, value) },
                "recompute_conv_bn_limit" => options with
                {
                    RecomputeConvBnLimit = value == "none" ? 0 : Count(key, value, 1),
                },
                "recompute_stages" => options with
                {
                    RecomputeStages = value switch
                    {
                        "all" => AllStages,
                        "all_but_last" => AllButLastStage,
                        _ => Count(key, value),
                    },
                },
                "segment" => options with
                {
                    SegmentBlocks = value == "auto" ? 0 : Count(key, value, 1),
                },
                _ => throw new ArgumentException(
                    $"--memory: unknown key '{kv[0]}' in '{text}'; expected pack_spikes, state, fuse_bn_neuron, recompute_conv_bn, recompute_conv_bn_limit, recompute_stages or segment",
                    nameof(text)
                ),
            };
        }
        return options;
    }

    /// <summary>fp32 / bf16 / fp16 (or float32 / bfloat16 / float16) → the storage type of H.</summary>
    public static DType ParseStateDType(string text) =>
        text?.ToLowerInvariant() switch
        {
            "fp32" or "float32" => DType.Float32,
            "bf16" or "bfloat16" => DType.BFloat16,
            "fp16" or "float16" => DType.Float16,
            _ => throw new ArgumentException(
                $"--memory: state must be fp32, bf16 or fp16, got '{text}'",
                nameof(text)
            ),
        };

    private static bool Bool(string key, string value) =>
        value switch
        {
            "true" or "1" => true,
            "false" or "0" => false,
            _ => throw new ArgumentException(
                $"--memory: {key} must be true or false, got '{value}'",
                nameof(value)
            ),
        };

    private static int Count(string key, string value, int min = 0) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n >= min
            ? n
            : throw new ArgumentException(
                $"--memory: {key} must be an integer ≥ {min}{key switch
                {
                    "segment" => " or auto",
                    "recompute_conv_bn_limit" => " or none",
                    "recompute_stages" => ", all or all_but_last",
                    _ => " or all",
                }}, got '{value}'",
                nameof(value)
            );

    /// <summary>The text form: the layout name, then the settings that differ from it.</summary>
    public override string ToString()
    {
        // The layout this differs from least (ties: min, then lean when spikes are packed).
        var (name, basis) =
            RecomputeStages != 0 && Differences(Min) <= Differences(Lean) ? ("min", Min)
            : Differences(Lean) < Differences(Standard)
            || (Differences(Lean) == Differences(Standard) && PackSpikes)
                ? ("lean", Lean)
            : ("standard", Standard);
        var text = new System.Text.StringBuilder(name);
        if (PackSpikes != basis.PackSpikes)
            text.Append(CultureInfo.InvariantCulture, $",pack_spikes={Lower(PackSpikes)}");
        if (StateDType != basis.StateDType)
            text.Append(
                CultureInfo.InvariantCulture,
                $",state={StateDType switch
                {
                    DType.Float32 => "fp32",
                    DType.BFloat16 => "bf16",
                    DType.Float16 => "fp16",
                    var d => d.Name(),
                }}"
            );
        if (FuseBnNeuron != basis.FuseBnNeuron)
            text.Append(CultureInfo.InvariantCulture, $",fuse_bn_neuron={Lower(FuseBnNeuron)}");
        if (RecomputeConvBn != basis.RecomputeConvBn)
            text.Append(
                CultureInfo.InvariantCulture,
                $",recompute_conv_bn={Lower(RecomputeConvBn)}"
            );
        if (RecomputeConvBnLimit != basis.RecomputeConvBnLimit)
            text.Append(
                CultureInfo.InvariantCulture,
                $",recompute_conv_bn_limit={(RecomputeConvBnLimit <= 0 ? "none" : RecomputeConvBnLimit.ToString(CultureInfo.InvariantCulture))}"
            );
        if (RecomputeStages != basis.RecomputeStages)
            text.Append(
                CultureInfo.InvariantCulture,
                $",recompute_stages={RecomputeStages switch
                {
                    AllStages => "all",
                    AllButLastStage => "all_but_last",
                    var n => n.ToString(CultureInfo.InvariantCulture),
                }}"
            );
        if (SegmentBlocks != basis.SegmentBlocks)
            text.Append(CultureInfo.InvariantCulture, $",segment={SegmentBlocks}");
        return text.ToString();
    }

    private static string Lower(bool b) => b ? "true" : "false";

    private int Differences(MemoryOptions o) =>
        (PackSpikes != o.PackSpikes ? 1 : 0)
        + (StateDType != o.StateDType ? 1 : 0)
        + (FuseBnNeuron != o.FuseBnNeuron ? 1 : 0)
        + (RecomputeConvBn != o.RecomputeConvBn ? 1 : 0)
        + (RecomputeConvBnLimit != o.RecomputeConvBnLimit ? 1 : 0)
        + (RecomputeStages != o.RecomputeStages ? 1 : 0)
        + (SegmentBlocks != o.SegmentBlocks ? 1 : 0);

    /// <summary>
    /// Applies these options to the tree under <paramref name="root"/>, the one place where a
    /// layout takes effect: every conv's <see cref="Conv2d.PackBinaryInput"/>, every fused neuron's
    /// <see cref="FusedNeuronNode.StateDType"/> and <see cref="FusedNeuronNode.KeepsTrainingState"/>
    /// (off when any stage is recomputed), the fusion plan of every chain
    /// (<see cref="ModuleChain.Plan"/>), and the recomputed segments of the stages
    /// (<see cref="Stages"/>: the first <see cref="RecomputedStages"/> of them).
    /// </summary>
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
                case FusedNeuronNode neuron:
                    neuron.StateDType = StateDType;
                    neuron.KeepsTrainingState = RecomputeStages == 0;
                    break;
            }
        }
        foreach (var (_, chain) in root.Chains())
            chain.Plan(this);
        var stages = Stages(root);
        var recomputed = RecomputedStages(stages.Count);
        for (var i = 0; i < stages.Count; i++)
        {
            var (stage, kind) = stages[i];
            // A Sequential stage's blocks (Spiking ResNet, SEW) pass spikes or spike counts; a
            // DaStage passes the real-valued DA stream in the pre families.
            var blocks = i < recomputed ? SegmentBlocksFor(kind, i == 0 && stage is Sequential) : 0;
            switch (stage)
            {
                case DaStage da:
                    (da.SegmentBlocks, da.PackSegmentInput) = (blocks, PackSpikes);
                    break;
                case Sequential seq:
                    (seq.SegmentSteps, seq.PackSegmentInput) = (blocks, PackSpikes);
                    break;
            }
        }
    }

    /// <summary>
    /// The stages of residual blocks under <paramref name="root"/> in forward order (a
    /// <see cref="DaStage"/>, or a <see cref="Sequential"/> of <see cref="ResidualBlock"/>s only),
    /// each with the kind of its first block: where recomputation cuts segments.
    /// </summary>
    public static IReadOnlyList<(Layer Stage, BlockKind Kind)> Stages(Module root)
    {
        ArgumentNullException.ThrowIfNull(root);
        var stages = new List<(Layer, BlockKind)>();
        foreach (var (_, m) in root.NamedModules())
        {
            switch (m)
            {
                case DaStage da:
                    stages.Add((da, da.Blocks[0].Kind));
                    break;
                case Sequential seq
                    when seq.Modules.Count > 0 && seq.Modules.All(b => b is ResidualBlock):
                    stages.Add((seq, ((ResidualBlock)seq.Modules[0]).Kind));
                    break;
            }
        }
        return stages;
    }
}

/// <summary>Writes <see cref="MemoryOptions"/> as its text form and reads it back.</summary>
public sealed class MemoryOptionsJsonConverter : JsonConverter<MemoryOptions>
{
    public override MemoryOptions Read(
        ref Utf8JsonReader reader,
        Type typeToConvert,
        JsonSerializerOptions options
    )
    {
        if (reader.TokenType != JsonTokenType.String)
            throw new JsonException($"memory options: expected a string, got {reader.TokenType}");
        try
        {
            return MemoryOptions.Parse(reader.GetString()!);
        }
        catch (ArgumentException e)
        {
            throw new JsonException(e.Message, e);
        }
    }

    public override void Write(
        Utf8JsonWriter writer,
        MemoryOptions value,
        JsonSerializerOptions options
    )
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteStringValue(value.ToString());
    }
}
