using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using SpikeEngine.Data;

namespace SpikeEngine.Training.Checkpoints;

/// <summary>
/// Everything besides the tensors that a resumed run needs: position, optimizer and schedule
/// settings, random-stream state and the partial-epoch accumulators, plus the run configuration
/// (model, dataset, T, ...) that <c>spike eval</c> uses to rebuild the model.
/// </summary>
public sealed record CheckpointState
{
    /// <summary>Epoch to continue (0-based; equals the completed epochs when <see cref="StepInEpoch"/> is 0).</summary>
    public required int Epoch { get; init; }

    /// <summary>Steps of <see cref="Epoch"/> already done.</summary>
    public required int StepInEpoch { get; init; }

    /// <summary>Steps done in the whole run (the schedule's and the encoder's position).</summary>
    public required long GlobalStep { get; init; }

    public required string Optimizer { get; init; }
    public required long OptimizerSteps { get; init; }
    public Dictionary<string, double> OptimizerHyperParameters { get; init; } = [];
    public required string Schedule { get; init; }

    /// <summary>
    /// Seed of every random stream. All streams are counter-based (loader order: (seed, epoch);
    /// augmentation: (seed, epoch, index); Poisson encoder: (seed, global step); initialisation:
    /// seed), so seed plus position is the complete RNG state.
    /// </summary>
    public required ulong Seed { get; init; }

    /// <summary>Partial-epoch sums so a mid-epoch resume reports the same epoch metrics.</summary>
    public double LossSum { get; init; }
    public long Correct { get; init; }
    public long Seen { get; init; }
    public int SkippedSteps { get; init; }
    public int Batches { get; init; }

    /// <summary>The memory options of the model (null in checkpoints that do not record them).</summary>
    public Nn.MemoryOptions? Memory { get; init; }

    /// <summary>Run configuration (model, dataset, T, num_classes, input, ...), as strings.</summary>
    public Dictionary<string, string> Run { get; init; } = [];
}

/// <summary>The tensors and state of one loaded checkpoint.</summary>
public sealed record Checkpoint(
    string SidecarPath,
    CheckpointState State,
    List<NamedArray> Model,
    List<NamedArray> OptimizerState
);

/// <summary>A checkpoint that cannot be used, naming the file and what is wrong.</summary>
public sealed class CheckpointException(string message, Exception? inner = null)
    : Exception(message, inner);

/// <summary>
/// A folder of checkpoints. Checkpoint STEM is three files: <c>STEM.safetensors</c> (model
/// parameters and buffers), <c>STEM.optim.safetensors</c> (optimizer state) and the sidecar
/// <c>STEM.json</c>, written last, which holds the <see cref="CheckpointState"/> and the SHA-256 of
/// the two tensor files and of its own body. STEM is <c>ckpt-eEEEE-sSSSSSS</c> (epoch, step in
/// epoch). Every file is written atomically; an existing file is never overwritten (a clash gets
/// a <c>.N</c> suffix). <see cref="Keep"/> newest checkpoints are kept.
/// </summary>
public sealed class CheckpointStore
{
    public const string Format = "spikeengine-checkpoint/1";
    private static readonly JsonSerializerOptions s_json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        NumberHandling = System
            .Text
            .Json
            .Serialization
            .JsonNumberHandling
            .AllowNamedFloatingPointLiterals,
        WriteIndented = false,
    };

    public CheckpointStore(string directory, int keep = 3)
    {
        if (keep < 1)
            throw new ArgumentOutOfRangeException(
                nameof(keep),
                keep,
                $"--keep must be at least 1, got {keep}"
            );
        Directory = directory;
        Keep = keep;
    }

    public string Directory { get; }
    public int Keep { get; }

    /// <summary>Sidecars in the folder, oldest first (by epoch, step, then suffix).</summary>
    public IReadOnlyList<string> List()
    {
        if (!System.IO.Directory.Exists(Directory))
            return [];
        return System
            .IO.Directory.GetFiles(Directory, "ckpt-e*-s*.json")
            .Select(p => (Path: p, Key: SortKey(p)))
            .Where(x => x.Key is not null)
            .OrderBy(x => x.Key!.Value.Epoch)
            .ThenBy(x => x.Key!.Value.Step)
            .ThenBy(x => x.Key!.Value.Suffix)
            .Select(x => x.Path)
            .ToList();
    }

    private static (int Epoch, int Step, int Suffix)? SortKey(string path)
    {
        var name = Path.GetFileNameWithoutExtension(path); // ckpt-e0001-s000000[.N]
        var parts = name.Split('.');
        var core = parts[0].Split('-');
        if (core.Length != 3 || !core[1].StartsWith('e') || !core[2].StartsWith('s'))
            return null;
        if (
            !int.TryParse(core[1].AsSpan(1), CultureInfo.InvariantCulture, out var e)
            || !int.TryParse(core[2].AsSpan(1), CultureInfo.InvariantCulture, out var s)
        )
            return null;
        var suffix = 0;
        if (parts.Length == 2 && !int.TryParse(parts[1], CultureInfo.InvariantCulture, out suffix))
            return null;
        if (parts.Length > 2)
            return null;
        return (e, s, suffix);
    }

    /// <summary>Writes a checkpoint and prunes beyond <see cref="Keep"/>; returns the sidecar path.</summary>
    public string Save(
        CheckpointState state,
        IEnumerable<(string Name, Tensor Tensor)> model,
        IEnumerable<(string Name, Tensor Tensor)> optimizerState
    )
    {
        System.IO.Directory.CreateDirectory(Directory);
        var stem = $"ckpt-e{state.Epoch:D4}-s{state.StepInEpoch:D6}";
        var candidate = stem;
        for (int i = 1; Exists(candidate); i++)
            candidate = $"{stem}.{i}";
        stem = candidate;
        var meta = new Dictionary<string, string>
        {
            ["format"] = "spikeengine",
            ["epoch"] = state.Epoch.ToString(CultureInfo.InvariantCulture),
            ["step_in_epoch"] = state.StepInEpoch.ToString(CultureInfo.InvariantCulture),
        };
        foreach (var (k, v) in state.Run)
            meta["run." + k] = v;
        var modelBytes = SafeTensors.Serialize(model, meta);
        var optimBytes = SafeTensors.Serialize(optimizerState);
        var modelFile = stem + ".safetensors";
        var optimFile = stem + ".optim.safetensors";
        AtomicFile.Write(Path.Combine(Directory, modelFile), modelBytes, overwrite: false);
        AtomicFile.Write(Path.Combine(Directory, optimFile), optimBytes, overwrite: false);

        var body = new JsonObject
        {
            ["files"] = new JsonObject
            {
                [modelFile] = Sha256(modelBytes),
                [optimFile] = Sha256(optimBytes),
            },
            ["model_file"] = modelFile,
            ["optimizer_file"] = optimFile,
            ["state"] = JsonSerializer.SerializeToNode(state, s_json),
        };
        var bodyText = body.ToJsonString();
        var sidecar =
            $"{{\"format\":\"{Format}\",\"sha256\":\"{Sha256(Encoding.UTF8.GetBytes(bodyText))}\",\"body\":{bodyText}}}\n";
        var sidecarPath = Path.Combine(Directory, stem + ".json");
        AtomicFile.Write(sidecarPath, Encoding.UTF8.GetBytes(sidecar), overwrite: false);
        Prune();
        return sidecarPath;
    }

    private bool Exists(string stem) =>
        File.Exists(Path.Combine(Directory, stem + ".json"))
        || File.Exists(Path.Combine(Directory, stem + ".safetensors"))
        || File.Exists(Path.Combine(Directory, stem + ".optim.safetensors"));

    private void Prune()
    {
        var all = List();
        foreach (var sidecar in all.Take(Math.Max(0, all.Count - Keep)))
        {
            var stem = Path.Combine(Directory, Path.GetFileNameWithoutExtension(sidecar));
            File.Delete(sidecar); // the sidecar first: a half-pruned checkpoint is never listed
            File.Delete(stem + ".safetensors");
            File.Delete(stem + ".optim.safetensors");
        }
    }

    /// <summary>
    /// Loads the newest checkpoint. If it fails verification, throws a <see cref="CheckpointException"/>
    /// that names the file and the problem and offers the newest good one (<c>--resume-from</c>).
    /// </summary>
    public Checkpoint LoadLatest()
    {
        var all = List();
        if (all.Count == 0)
            throw new CheckpointException(
                $"no checkpoint to resume in '{Path.GetFullPath(Directory)}' (looked for ckpt-e*-s*.json); run without --resume"
            );
        try
        {
            return Load(all[^1]);
        }
        catch (CheckpointException e)
        {
            string? good = null;
            for (int i = all.Count - 2; i >= 0 && good is null; i--)
            {
                try
                {
                    Load(all[i]);
                    good = all[i];
                }
                catch (CheckpointException) { }
            }
            throw new CheckpointException(
                good is null
                    ? $"{e.Message}. No older checkpoint in '{Directory}' verifies either"
                    : $"{e.Message}. The previous good checkpoint is '{good}'; resume from it with --resume-from {good} (the damaged one is left in place)",
                e
            );
        }
    }

    private static readonly UTF8Encoding s_strictUtf8 = new(false, true);

    /// <summary>Loads and verifies one checkpoint given its sidecar (or its model .safetensors) path.</summary>
    public static Checkpoint Load(string path)
    {
        var sidecar =
            path.EndsWith(".optim.safetensors", StringComparison.Ordinal)
                ? path[..^".optim.safetensors".Length] + ".json"
            : path.EndsWith(".safetensors", StringComparison.Ordinal)
                ? path[..^".safetensors".Length] + ".json"
            : path;
        if (!File.Exists(sidecar))
            throw new CheckpointException($"checkpoint '{sidecar}' does not exist");
        var dir = Path.GetDirectoryName(Path.GetFullPath(sidecar))!;
        var text = File.ReadAllBytes(sidecar);
        try
        {
            // JsonDocument accepts invalid UTF-8 inside strings and fails later, deep in a read.
            _ = s_strictUtf8.GetCharCount(text);
        }
        catch (DecoderFallbackException ex)
        {
            throw new CheckpointException(
                $"checkpoint '{sidecar}' is corrupt: sidecar is not valid UTF-8 at byte {ex.Index}",
                ex
            );
        }
        JsonElement root;
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(text);
        }
        catch (JsonException ex)
        {
            throw new CheckpointException(
                $"checkpoint '{sidecar}' is corrupt: sidecar is not valid JSON ({ex.Message})",
                ex
            );
        }
        using (doc)
        {
            root = doc.RootElement;
            string Str(JsonElement e, string name) =>
                e.ValueKind == JsonValueKind.Object
                && e.TryGetProperty(name, out var v)
                && v.ValueKind == JsonValueKind.String
                    ? v.GetString()!
                    : throw new CheckpointException(
                        $"checkpoint '{sidecar}' is corrupt: sidecar entry '{name}' is missing or not a string"
                    );
            if (Str(root, "format") != Format)
                throw new CheckpointException(
                    $"checkpoint '{sidecar}': sidecar format '{Str(root, "format")}' is not {Format}"
                );
            if (
                !root.TryGetProperty("body", out var body)
                || body.ValueKind != JsonValueKind.Object
            )
                throw new CheckpointException(
                    $"checkpoint '{sidecar}' is corrupt: sidecar entry 'body' is missing"
                );
            var want = Str(root, "sha256");
            var got = Sha256(Encoding.UTF8.GetBytes(body.GetRawText()));
            if (want != got)
                throw new CheckpointException(
                    $"checkpoint '{sidecar}' is corrupt: sidecar entry 'body' has SHA-256 {got}, expected {want}"
                );
            CheckpointState state;
            try
            {
                state =
                    body.GetProperty("state").Deserialize<CheckpointState>(s_json)
                    ?? throw new CheckpointException(
                        $"checkpoint '{sidecar}' is corrupt: sidecar entry 'state' is null"
                    );
            }
            catch (Exception ex)
                when (ex is JsonException or KeyNotFoundException or InvalidOperationException)
            {
                throw new CheckpointException(
                    $"checkpoint '{sidecar}' is corrupt: sidecar entry 'state' is unreadable ({ex.Message})",
                    ex
                );
            }
            var files =
                body.TryGetProperty("files", out var f) && f.ValueKind == JsonValueKind.Object
                    ? f
                    : default;
            List<NamedArray> ReadVerified(string name)
            {
                var file = Str(body, name);
                if (file.Contains('/') || file.Contains('\\'))
                    throw new CheckpointException(
                        $"checkpoint '{sidecar}' is corrupt: entry '{name}' is not a plain file name"
                    );
                var full = Path.Combine(dir, file);
                if (!File.Exists(full))
                    throw new CheckpointException(
                        $"checkpoint '{sidecar}': file '{full}' is missing"
                    );
                var bytes = File.ReadAllBytes(full);
                var expected = Str(files, file);
                var actual = Sha256(bytes);
                if (expected != actual)
                    throw new CheckpointException(
                        $"checkpoint file '{full}' is corrupt: SHA-256 {actual} differs from {expected} recorded in '{sidecar}'"
                    );
                try
                {
                    return SafeTensors.Parse(bytes, full).Tensors;
                }
                catch (DataFormatException ex)
                {
                    throw new CheckpointException($"checkpoint file {ex.Message}", ex);
                }
            }
            return new Checkpoint(
                sidecar,
                state,
                ReadVerified("model_file"),
                ReadVerified("optimizer_file")
            );
        }
    }

    /// <summary>Lower-case hex SHA-256.</summary>
    public static string Sha256(ReadOnlySpan<byte> bytes) =>
        Convert.ToHexStringLower(SHA256.HashData(bytes));
}
