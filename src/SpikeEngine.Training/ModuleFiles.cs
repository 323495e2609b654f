using SpikeEngine.Nn;
using SpikeEngine.Training.Checkpoints;

namespace SpikeEngine.Training;

/// <summary>
/// Saving and loading a module's weights in one call: every parameter and buffer
/// (<see cref="Module.NamedTensors"/>) as one safetensors file with string metadata, written
/// atomically (<see cref="AtomicFile"/>: a crash leaves the old file or the new one, never half).
/// </summary>
public static class ModuleFiles
{
    /// <summary>
    /// Writes the parameters and buffers of <paramref name="module"/> to <paramref name="path"/>
    /// (safetensors, float32, dotted names), with <paramref name="metadata"/> in the header;
    /// replaces an existing file atomically.
    /// </summary>
    public static void Save(
        this Module module,
        string path,
        params (string Key, string Value)[] metadata
    )
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentException.ThrowIfNullOrEmpty(path);
        var meta = new Dictionary<string, string>();
        foreach (var (k, v) in metadata)
        {
            if (!meta.TryAdd(k, v))
                throw new ArgumentException(
                    $"Module.Save: metadata key '{k}' is given twice",
                    nameof(metadata)
                );
        }
        AtomicFile.Write(path, SafeTensors.Serialize(module.NamedTensors(), meta));
    }

    /// <summary>
    /// Loads a file written by <see cref="Save"/> (or any safetensors file with the module's
    /// names) into the parameters and buffers of <paramref name="module"/>: every tensor must be
    /// present with its shape, else a <see cref="CheckpointException"/> names the file, the
    /// tensor and the shapes. Returns the file's metadata.
    /// </summary>
    public static IReadOnlyDictionary<string, string> Load(this Module module, string path)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentException.ThrowIfNullOrEmpty(path);
        List<NamedArray> tensors;
        Dictionary<string, string> metadata;
        try
        {
            (tensors, metadata) = SafeTensors.Read(path);
        }
        catch (Exception e) when (e is IOException or Data.DataFormatException)
        {
            throw new CheckpointException($"Module.Load: cannot read '{path}': {e.Message}", e);
        }
        CopyInto(module, tensors, path);
        return metadata;
    }

    /// <summary>Copies named arrays into the module's parameters and buffers; every tensor must be present with its shape.</summary>
    public static void CopyInto(Module module, IReadOnlyList<NamedArray> arrays, string file)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentNullException.ThrowIfNull(arrays);
        var what = module.GetType().Name;
        var byName = arrays.ToDictionary(a => a.Name);
        using var noGrad = GradMode.NoGrad();
        foreach (var (name, t) in module.NamedTensors())
        {
            if (!byName.TryGetValue(name, out var a))
                throw new CheckpointException(
                    $"checkpoint '{file}' has no tensor '{name}' of model {what}"
                );
            if (!t.Shape.ToArray().SequenceEqual(a.Shape))
                throw new CheckpointException(
                    $"checkpoint '{file}': tensor '{name}' has shape [{string.Join(", ", a.Shape)}], model {what} expects {t.Shape}"
                );
            t.CopyFrom(a.Data);
        }
    }
}
