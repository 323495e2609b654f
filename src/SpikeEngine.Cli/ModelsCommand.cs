using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using SpikeEngine.Models;
using SpikeEngine.Nn;

namespace SpikeEngine.Cli;

/// <summary>
/// <c>spike models</c>: every registered model with its parameter count, neuron elements per sample
/// per time step, and the estimated activation memory of training at T and batch (bytes saved for
/// backward in float32; weights, gradients and optimizer state not included). Shape inference
/// only: no weights are allocated.
/// </summary>
public static class ModelsCommand
{
    public static Command Build(TextWriter stdout)
    {
        var json = new Option<bool>("--json") { Description = "Print a JSON array." };
        var classes = new Option<int>("--num-classes")
        {
            Description = "Classifier outputs.",
            DefaultValueFactory = _ => 1000,
        }.Check(v => v >= 1, "must be at least 1");
        var input = new Option<string>("--input")
        {
            Description = "Input CxHxW.",
            DefaultValueFactory = _ => "3x224x224",
        };
        var stem = new Option<string>("--stem")
        {
            Description = "imagenet (7x7/2 conv + max pool) or cifar (3x3/1 conv).",
            DefaultValueFactory = _ => "imagenet",
        };
        var t = new Option<int>("--T")
        {
            Description = "Time steps for the memory estimate.",
            DefaultValueFactory = _ => 4,
        }.Check(v => v >= 1, "must be at least 1");
        var batch = new Option<int>("--batch")
        {
            Description = "Batch size for the memory estimate.",
            DefaultValueFactory = _ => 32,
        }.Check(v => v >= 1, "must be at least 1");
        var memory = new Option<MemoryOptions?>("--memory")
        {
            Description =
                "Also predict, by the same shape-only walk, the bytes a training step at T and batch keeps for backward in this layout (standard, lean, min, with overrides): what spike bench memory measures as saved_bytes.",
            CustomParser = r =>
            {
                try
                {
                    return MemoryOptions.Parse(r.Tokens[^1].Value);
                }
                catch (ArgumentException e)
                {
                    r.AddError(e.Message.Replace($" (Parameter '{e.ParamName}')", ""));
                    return null;
                }
            },
        };
        var cmd = new Command(
            "models",
            "List every model with its size and training memory estimate."
        );
        foreach (var o in new Option[] { json, classes, input, stem, t, batch, memory })
            cmd.Options.Add(o);
        cmd.SetAction(r =>
        {
            var dims = ParseInput(r.GetValue(input)!);
            var options = new ModelOptions
            {
                NumClasses = r.GetValue(classes),
                Stem = r.GetValue(stem)!.ToLowerInvariant() switch
                {
                    "imagenet" => Stem.ImageNet,
                    "cifar" => Stem.Cifar,
                    var s => throw new UsageException(
                        $"--stem: expected imagenet or cifar, got '{s}'"
                    ),
                },
                Neuron = () => new LifNode(),
            };
            var rows = ModelInfo.ComputeAll(options, dims);
            int steps = r.GetValue(t),
                n = r.GetValue(batch);
            if (r.GetValue(memory) is { } layout)
            {
                var layoutOptions = options with { Memory = layout };
                var predicted = rows.Select(m => new Dictionary<string, object>
                    {
                        ["name"] = m.Name,
                        ["memory"] = layout.ToString(),
                        ["t"] = steps,
                        ["batch"] = n,
                        ["saved_bytes"] = ModelInfo.PredictSavedBytes(
                            m.Name,
                            layoutOptions,
                            dims,
                            steps,
                            n
                        ),
                    })
                    .ToList();
                if (r.GetValue(json))
                {
                    Spike.WriteJson(stdout, predicted);
                    return Spike.Success;
                }
                stdout.WriteLine(
                    $"{"model", -26} {$"saved for backward, {layout}, T={steps} N={n}", 48}"
                );
                foreach (var p in predicted)
                    stdout.WriteLine(
                        $"{p["name"], -26} {MemoryBudget.FormatBytes((long)p["saved_bytes"]), 36} ({p["saved_bytes"]} B)"
                    );
                return Spike.Success;
            }
            if (r.GetValue(json))
            {
                Spike.WriteJson(stdout, rows);
                return Spike.Success;
            }
            stdout.WriteLine(
                $"{"model", -26} {"parameters", 14} {"neuron elems/step", 18} {$"activations T={steps} N={n}", 24}"
            );
            foreach (var m in rows)
            {
                var gib = m.ActivationBytes(steps, n) / (double)(1L << 30);
                stdout.WriteLine(
                    $"{m.Name, -26} {m.Parameters, 14:N0} {m.NeuronElementsPerStep, 18:N0} {gib, 20:F2} GiB"
                );
            }
            return Spike.Success;
        });
        return cmd;
    }

    private static (int, int, int) ParseInput(string text)
    {
        var parts = text.Split('x');
        if (
            parts.Length != 3
            || !parts.All(p =>
                int.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out var v) && v > 0
            )
        )
            throw new UsageException(
                $"--input: expected CxHxW with positive sizes (e.g. 3x224x224), got '{text}'"
            );
        return (
            int.Parse(parts[0], CultureInfo.InvariantCulture),
            int.Parse(parts[1], CultureInfo.InvariantCulture),
            int.Parse(parts[2], CultureInfo.InvariantCulture)
        );
    }
}
