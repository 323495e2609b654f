using System.Globalization;
using SpikeEngine.Nn;

namespace SpikeEngine.Models;

/// <summary>
/// One registered model: its name, a one-line description, its factory, and for the ResNet zoo
/// its family and depth (null for the others).
/// </summary>
public sealed record ModelEntry(
    string Name,
    string Description,
    Func<ModelOptions, Layer> Build,
    Family? Family = null,
    int? Depth = null
)
{
    /// <summary>Builds the model with <paramref name="options"/> (its memory layout applied).</summary>
    public Layer Create(ModelOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return Build(options);
    }
}

/// <summary>
/// The one name → model factory of the engine, used by the CLI, the trainer and library code:
/// the ResNet zoo <c>{spiking,sew,ms}-resnet{18,34,50,101,152,19}</c> and
/// <c>danet-{post,pre}-resnet{18,34,50,101,152,19}</c>, and the small DANets for 28×28 inputs
/// <c>danet-mnist</c> and <c>danet-mnist-tiny</c>. Unknown names get "did you mean" suggestions.
/// </summary>
public static class ModelRegistry
{
    private static readonly (string Prefix, Family Family, string What)[] s_families =
    [
        ("spiking-resnet", Family.SpikingResNet, "Spiking ResNet (add before the neuron)"),
        ("sew-resnet", Family.SewResNet, "SEW ResNet (spike-element-wise, ADD by default)"),
        ("ms-resnet", Family.MsResNet, "MS-ResNet (membrane shortcut, pre-activation)"),
        ("danet-post-resnet", Family.DaNetPost, "DANet-post (DA stream of spike counts)"),
        ("danet-pre-resnet", Family.DaNetPre, "DANet-pre (DA stream of membrane inputs)"),
    ];

    private static readonly ModelEntry[] s_zoo =
    [
        .. from f in s_families
        from d in ResNetLayout.Depths
        let layout = ResNetLayout.For(d)
        select new ModelEntry(
            f.Prefix + d.ToString(CultureInfo.InvariantCulture),
            $"{f.What}, {(layout.Block == BlockKind.Basic ? "basic" : "bottleneck")} blocks {string.Join("/", layout.Blocks)}",
            o => new ResNet(f.Family, d, o),
            f.Family,
            d
        ),
    ];

    private static readonly ModelEntry[] s_entries =
    [
        .. s_zoo,
        new(
            "danet-mnist",
            "narrow pre-activation DANet for 28×28 inputs: 3×3 stem (16) at 28×28, DA stages of 16 (14×14) and 32 (7×7) channels, one block each",
            o => new DanetMnist(o, [16, 16, 32], [0, 1, 1])
        ),
        new(
            "danet-mnist-tiny",
            "smallest DA network (stem 8, one stage of 8 with one block): tests and smoke runs",
            o => new DanetMnist(o, [8], [1])
        ),
    ];

    /// <summary>Every registered model: the zoo family by family, then the 28×28 DANets.</summary>
    public static IReadOnlyList<ModelEntry> All => s_entries;

    /// <summary>The ResNet zoo (the entries with a family and a depth; what <c>spike models</c> tabulates).</summary>
    public static IReadOnlyList<ModelEntry> Zoo => s_zoo;

    /// <summary>Every registered name.</summary>
    public static IEnumerable<string> Names => s_entries.Select(e => e.Name);

    /// <summary>The entry named <paramref name="name"/> (case-insensitive), if registered.</summary>
    public static bool TryGet(string name, out ModelEntry entry)
    {
        entry = s_entries.FirstOrDefault(e =>
            string.Equals(e.Name, name?.Trim(), StringComparison.OrdinalIgnoreCase)
        )!;
        return entry is not null;
    }

    /// <summary>The entry named <paramref name="name"/>; an unknown name throws with suggestions.</summary>
    public static ModelEntry Get(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (TryGet(name, out var entry))
            return entry;
        var suggestions = Suggest(name);
        var hint =
            suggestions.Count > 0
                ? $"; did you mean {string.Join(", ", suggestions.Select(s => $"'{s}'"))}?"
                : "";
        throw new ArgumentException(
            $"model registry: unknown model '{name}'{hint} (`spike models` lists all {s_entries.Length})",
            nameof(name)
        );
    }

    /// <summary>Builds the model named <paramref name="name"/> with <paramref name="options"/>.</summary>
    public static Layer Create(string name, ModelOptions options) => Get(name).Create(options);

    /// <summary>Up to <paramref name="max"/> registered names closest to <paramref name="name"/> (edit distance).</summary>
    public static IReadOnlyList<string> Suggest(string name, int max = 3)
    {
        ArgumentNullException.ThrowIfNull(name);
        var q = name.Trim().ToLowerInvariant();
        return
        [
            .. s_entries
                .Select(e => (e.Name, Distance: Levenshtein(q, e.Name)))
                .Where(x => x.Distance <= Math.Max(3, q.Length / 3))
                .OrderBy(x => x.Distance)
                .ThenBy(x => x.Name, StringComparer.Ordinal)
                .Take(max)
                .Select(x => x.Name),
        ];
    }

    internal static int Levenshtein(string a, string b)
    {
        var prev = new int[b.Length + 1];
        var cur = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++)
            prev[j] = j;
        for (var i = 1; i <= a.Length; i++)
        {
            cur[0] = i;
            for (var j = 1; j <= b.Length; j++)
                cur[j] = Math.Min(
                    Math.Min(cur[j - 1] + 1, prev[j] + 1),
                    prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)
                );
            (prev, cur) = (cur, prev);
        }
        return prev[b.Length];
    }
}
