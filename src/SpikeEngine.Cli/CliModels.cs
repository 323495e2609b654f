using System.Globalization;
using SpikeEngine.Data;
using SpikeEngine.Models;
using SpikeEngine.Nir;
using SpikeEngine.Nn;
using SpikeEngine.Training;
using SpikeEngine.Training.Checkpoints;

namespace SpikeEngine.Cli;

/// <summary>
/// What <c>--model</c> names in <c>spike train</c>, <c>spike eval</c> and <c>spike nir export</c>:
/// a model of <see cref="ModelRegistry"/> (the one catalogue of built-in models), or
/// <c>nir:PATH</c>, the NIR graph in PATH with its weights, built by <see cref="NirImport.Load"/>
/// with the dt the graph records. A graph is a file, not a registry entry, so the registry stays
/// a fixed list and a graph is read afresh each time it is named.
/// </summary>
public static class CliModels
{
    /// <summary>The canonical name: the registry's spelling, or <c>nir:PATH</c> unchanged.</summary>
    /// <exception cref="ArgumentException">An unknown registry name (with suggestions).</exception>
    public static string Canonical(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return IsNir(name) ? name : ModelRegistry.Get(name).Name;
    }

    /// <summary>
    /// Builds <paramref name="name"/> for <paramref name="options"/> (classes, input channels, seed,
    /// memory layout); a NIR graph must map <paramref name="input"/> to
    /// <see cref="ModelOptions.NumClasses"/> outputs, and gets the same memory layout.
    /// </summary>
    public static Module Create(string name, ModelOptions options, SampleShape input)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(options);
        if (!IsNir(name))
            return ModelRegistry.Create(name, options);
        var model = NirImport.Load(name[NirImport.Prefix.Length..]);
        int outputs = Numel(model.OutputShape());
        int inputs = Numel(model.InputShape());
        if (outputs != options.NumClasses || inputs != input.Size)
        {
            model.Dispose();
            throw new ArgumentException(
                $"--model {name}: the graph maps {inputs} inputs to {outputs} outputs; the dataset has {input.Size} inputs {input} and {options.NumClasses} classes"
            );
        }
        options.Memory.ApplyTo(model);
        return model;
    }

    /// <summary>A value the checkpoint's run recorded; a missing key names the checkpoint.</summary>
    public static string RunValue(Checkpoint ckpt, string key)
    {
        ArgumentNullException.ThrowIfNull(ckpt);
        return ckpt.State.Run.TryGetValue(key, out var v)
            ? v
            : throw new CheckpointException(
                $"checkpoint '{ckpt.SidecarPath}' records no run '{key}'"
            );
    }

    /// <summary>
    /// The model <paramref name="ckpt"/> was trained as (its recorded name, input, classes and
    /// memory layout) with the checkpoint's weights loaded; <paramref name="dims"/> is the
    /// recorded per-step input <c>[C, H, W]</c>.
    /// </summary>
    public static Module FromCheckpoint(Checkpoint ckpt, out int[] dims)
    {
        ArgumentNullException.ThrowIfNull(ckpt);
        dims =
        [
            .. RunValue(ckpt, "input")
                .Split('x')
                .Select(s => int.Parse(s, CultureInfo.InvariantCulture)),
        ];
        var input = new SampleShape(dims[0], dims[1], dims[2]);
        int classes = int.Parse(RunValue(ckpt, "num_classes"), CultureInfo.InvariantCulture);
        var net = Create(
            RunValue(ckpt, "model"),
            ModelOptions.ForInput(classes, input.Channels, input.Height, 0, ckpt.State.Memory),
            input
        );
        try
        {
            Trainer.LoadWeights(net, ckpt.Model, ckpt.SidecarPath);
        }
        catch
        {
            net.Dispose();
            throw;
        }
        return net;
    }

    private static bool IsNir(string name) =>
        name.StartsWith(NirImport.Prefix, StringComparison.Ordinal);

    private static int Numel(int[] shape) => shape.Aggregate(1, (a, b) => a * b);
}
