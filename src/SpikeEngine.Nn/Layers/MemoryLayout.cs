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
/// <remarks>
/// The one text form, parsed once (<see cref="Parse"/>) from the CLI's <c>--memory</c> and written
/// back by <see cref="ToString"/> (checkpoints record it so): a layout name, <c>lean</c> or
/// <c>standard</c>, optionally followed by overrides, <c>lean,state=bf16</c>. Keys:
/// <c>pack_spikes</c>, <c>state</c> (fp32, bf16, fp16), <c>fuse_bn_neuron</c>,
/// <c>recompute_conv_bn</c> (true/false).
/// </remarks>
[JsonConverter(typeof(MemoryOptionsJsonConverter))]
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
            var s => throw new ArgumentException(
                $"--memory: expected lean or standard (optionally followed by ,key=value overrides), got '{s}'",
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
                _ => throw new ArgumentException(
                    $"--memory: unknown key '{kv[0]}' in '{text}'; expected pack_spikes, state, fuse_bn_neuron or recompute_conv_bn",
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

    /// <summary>The text form: the layout name, then the settings that differ from it.</summary>
    public override string ToString()
    {
        // The layout this differs from least (ties: lean when spikes are packed).
        var (name, basis) =
            Differences(Lean) < Differences(Standard)
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
        return text.ToString();
    }

    private static string Lower(bool b) => b ? "true" : "false";

    private int Differences(MemoryOptions o) =>
        (PackSpikes != o.PackSpikes ? 1 : 0)
        + (StateDType != o.StateDType ? 1 : 0)
        + (FuseBnNeuron != o.FuseBnNeuron ? 1 : 0)
        + (RecomputeConvBn != o.RecomputeConvBn ? 1 : 0);

    /// <summary>
    /// Applies these options to the tree under <paramref name="root"/>, the one place where a
    /// layout takes effect: every conv's <see cref="Conv2d.PackBinaryInput"/>, every fused neuron's
    /// <see cref="FusedNeuronNode.StateDType"/>, and the fusion plan of every chain
    /// (<see cref="ModuleChain.Plan"/>).
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
                    break;
            }
        }
        foreach (var (_, chain) in root.Chains())
            chain.Plan(this);
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
