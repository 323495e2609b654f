using SpikeEngine.Data;

namespace SpikeEngine.Training.Models;

/// <summary>One model the CLI can build: a name, a summary, and a factory.</summary>
public sealed record ModelEntry(
    string Name,
    string Summary,
    Func<int, SampleShape, ulong, ClassifierModel> Create
);

/// <summary>
/// Models known to <c>spike train</c> and <c>spike eval</c>, by name. Unknown names get a
/// "did you mean" suggestion.
/// </summary>
public static class ModelCatalog
{
    private static readonly List<ModelEntry> s_entries = [];

    /// <summary>Every registered model, in registration order.</summary>
    public static IReadOnlyList<ModelEntry> Entries
    {
        get
        {
            EnsureBuiltIns();
            lock (s_entries)
                return [.. s_entries]; // a snapshot: models may be registered while a caller reads
        }
    }

    /// <summary>Registers a model (a name may be registered once).</summary>
    public static void Register(ModelEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        lock (s_entries)
        {
            if (s_entries.Any(e => e.Name == entry.Name))
                throw new ArgumentException(
                    $"model '{entry.Name}' is registered twice",
                    nameof(entry)
                );
            s_entries.Add(entry);
        }
    }

    private static volatile bool s_builtIns;
    private static readonly Lock s_builtInsLock = new();

    // Every caller waits until the built-ins are registered: a caller that only saw a flag set
    // by another thread could read a half-filled list.
    private static void EnsureBuiltIns()
    {
        if (s_builtIns)
            return;
        lock (s_builtInsLock)
        {
            if (s_builtIns)
                return;
            BuiltInModels.Register();
            s_builtIns = true;
        }
    }

    /// <summary>Builds <paramref name="name"/> for <paramref name="numClasses"/> classes and input (C, H, W).</summary>
    public static ClassifierModel Create(
        string name,
        int numClasses,
        SampleShape input,
        ulong seed
    ) => Find(name).Create(numClasses, input, seed);

    /// <summary>The entry of <paramref name="name"/>; throws <see cref="ArgumentException"/> with a suggestion when unknown.</summary>
    public static ModelEntry Find(string name)
    {
        var e = Entries.FirstOrDefault(x => x.Name == name);
        if (e is not null)
            return e;
        var best = Entries
            .Select(x => (x.Name, D: Distance(x.Name, name)))
            .OrderBy(x => x.D)
            .FirstOrDefault();
        var hint =
            best.Name is not null && best.D <= Math.Max(2, name.Length / 3)
                ? $"; did you mean '{best.Name}'?"
                : "";
        throw new ArgumentException(
            $"--model: unknown model '{name}'{hint} (known: {string.Join(", ", Entries.Select(x => x.Name))})"
        );
    }

    /// <summary>Levenshtein distance.</summary>
    public static int Distance(string a, string b)
    {
        var d = new int[b.Length + 1];
        for (int j = 0; j <= b.Length; j++)
            d[j] = j;
        for (int i = 1; i <= a.Length; i++)
        {
            int prev = d[0];
            d[0] = i;
            for (int j = 1; j <= b.Length; j++)
            {
                int tmp = d[j];
                d[j] = Math.Min(
                    Math.Min(d[j] + 1, d[j - 1] + 1),
                    prev + (a[i - 1] == b[j - 1] ? 0 : 1)
                );
                prev = tmp;
            }
        }
        return d[b.Length];
    }
}
