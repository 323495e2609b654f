using System.Globalization;
using System.Text.RegularExpressions;

namespace SpikeEngine.Cuda.Kernels;

/// <summary>One <c>.entry</c> of a PTX module: its name and the PTX type class of each parameter.</summary>
public sealed record PtxEntry(string Name, IReadOnlyList<string> ParamClasses);

/// <summary>ptxas's report for one function (<c>--ptxas-options=-v</c>).</summary>
public sealed record PtxasFunctionReport(
    string Name,
    string Arch,
    int Registers,
    int StackFrameBytes,
    int SpillStoreBytes,
    int SpillLoadBytes
);

/// <summary>Reads PTX entry signatures and ptxas resource reports.</summary>
public static partial class PtxInspector
{
    [GeneratedRegex(@"\.entry\s+(\w+)\s*\(([^)]*)\)", RegexOptions.Singleline)]
    private static partial Regex EntryRegex();

    [GeneratedRegex(@"\.param\s+(?:\.ptr\s+|\.align\s+\d+\s+|\.global\s+|\.const\s+)*\.(\w+)")]
    private static partial Regex ParamRegex();

    /// <summary>Every <c>.entry</c> in <paramref name="ptx"/>, parameters as <c>u64</c>/<c>u32</c>/<c>f32</c>/other.</summary>
    public static IReadOnlyList<PtxEntry> Entries(string ptx)
    {
        var result = new List<PtxEntry>();
        foreach (Match m in EntryRegex().Matches(ptx))
        {
            var classes = new List<string>();
            foreach (
                var param in m.Groups[2]
                    .Value.Split(
                        ',',
                        StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries
                    )
            )
            {
                var pm = ParamRegex().Match(param);
                classes.Add(pm.Success ? Normalize(pm.Groups[1].Value, param) : param);
            }
            result.Add(new PtxEntry(m.Groups[1].Value, classes));
        }
        return result;
    }

    private static string Normalize(string type, string param) =>
        type switch
        {
            "u64" or "s64" or "b64" => "u64",
            "u32" or "s32" or "b32" => "u32",
            "f32" => "f32",
            _ => param, // e.g. a by-value struct, ".b8 name[16]": reported verbatim
        };

    /// <summary>
    /// The mismatches between <paramref name="entries"/> of <paramref name="file"/> and
    /// <see cref="KernelSignatures"/>: entries the table lacks, table entries of that file the PTX
    /// lacks, and parameter lists that differ. Empty when they agree.
    /// </summary>
    public static IReadOnlyList<string> CompareWithSignatures(
        string file,
        IReadOnlyList<PtxEntry> entries
    )
    {
        var problems = new List<string>();
        foreach (var e in entries)
        {
            if (!KernelSignatures.All.TryGetValue(e.Name, out var sig))
            {
                problems.Add($"{file}: PTX entry {e.Name} is not in KernelSignatures/KernelNames");
                continue;
            }
            if (sig.File != file)
            {
                problems.Add($"{file}: {e.Name} is listed in KernelSignatures under {sig.File}");
            }
            var expected = sig.Params.Select(p => p.PtxClass).ToArray();
            if (!expected.SequenceEqual(e.ParamClasses))
            {
                problems.Add(
                    $"{file}: {e.Name} PTX parameters ({string.Join(", ", e.ParamClasses)}) differ from "
                        + $"KernelSignatures ({string.Join(", ", sig.Params.Select(p => $"{p.Name}:{p.PtxClass}"))})"
                );
            }
        }
        var names = entries.Select(e => e.Name).ToHashSet(StringComparer.Ordinal);
        foreach (
            var sig in KernelSignatures.All.Values.Where(s =>
                s.File == file && !names.Contains(s.Name)
            )
        )
        {
            problems.Add(
                $"{file}: KernelSignatures lists {sig.Name} but the PTX has no such entry"
            );
        }
        return problems;
    }

    [GeneratedRegex(@"Compiling entry function '(\w+)' for '(\w+)'")]
    private static partial Regex CompilingRegex();

    [GeneratedRegex(@"Function properties for (\w+)")]
    private static partial Regex PropertiesRegex();

    [GeneratedRegex(@"(\d+) bytes stack frame, (\d+) bytes spill stores, (\d+) bytes spill loads")]
    private static partial Regex FrameRegex();

    [GeneratedRegex(@"Used (\d+) registers")]
    private static partial Regex RegistersRegex();

    /// <summary>Parses the ptxas <c>-v</c> lines of an NVRTC log into one report per function (entries and called device functions).</summary>
    public static IReadOnlyList<PtxasFunctionReport> ParsePtxasLog(string log)
    {
        var byName = new Dictionary<string, PtxasFunctionReport>(StringComparer.Ordinal);
        var order = new List<string>();
        string? current = null;
        foreach (var line in log.Split('\n'))
        {
            Match m;
            if ((m = CompilingRegex().Match(line)).Success)
            {
                current = m.Groups[1].Value;
                if (!byName.ContainsKey(current))
                {
                    order.Add(current);
                    byName[current] = new PtxasFunctionReport(
                        current,
                        m.Groups[2].Value,
                        0,
                        0,
                        0,
                        0
                    );
                }
            }
            else if ((m = PropertiesRegex().Match(line)).Success)
            {
                // entries were announced by "Compiling entry function"; device functions
                // (__noinline__) appear only here, and their spills count too
                current = m.Groups[1].Value;
                if (!byName.ContainsKey(current))
                {
                    order.Add(current);
                    byName[current] = new PtxasFunctionReport(current, "", 0, 0, 0, 0);
                }
            }
            else if (current is not null && (m = FrameRegex().Match(line)).Success)
            {
                byName[current] = byName[current] with
                {
                    StackFrameBytes = Int(m.Groups[1].Value),
                    SpillStoreBytes = Int(m.Groups[2].Value),
                    SpillLoadBytes = Int(m.Groups[3].Value),
                };
            }
            else if (current is not null && (m = RegistersRegex().Match(line)).Success)
            {
                byName[current] = byName[current] with { Registers = Int(m.Groups[1].Value) };
            }
        }
        return [.. order.Select(n => byName[n])];
    }

    private static int Int(string s) =>
        int.Parse(s, NumberStyles.None, CultureInfo.InvariantCulture);
}
