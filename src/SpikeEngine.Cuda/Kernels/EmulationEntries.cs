using System.Text;

namespace SpikeEngine.Cuda.Kernels;

/// <summary>
/// The launch entries of the CPU emulation library (<c>kernels/emulation/</c>), generated from
/// <see cref="KernelSignatures"/> so the two can never disagree: for each kernel file one C++
/// translation unit that includes the file unmodified and exports, per kernel,
/// <c>int spike_emu_&lt;kernel&gt;(const launch_config*, void** args)</c>, where <c>args</c> is
/// <c>cuLaunchKernel</c>'s array of pointers to the parameter values. The files are committed;
/// <c>build.ps1 emulation-entries</c> rewrites them and a test checks they are current.
/// </summary>
public static class EmulationEntries
{
    /// <summary>Where the generated files live, relative to the repository root.</summary>
    public const string Folder = "kernels/emulation";

    /// <summary>The exported launch entry of <paramref name="kernel"/>.</summary>
    public static string ExportName(string kernel) => "spike_emu_" + kernel;

    /// <summary>The generated file for kernel file <paramref name="cuFile"/> (e.g. <c>neuron.entries.cpp</c>).</summary>
    public static string FileName(string cuFile) =>
        Path.GetFileNameWithoutExtension(cuFile) + ".entries.cpp";

    /// <summary>Generated file name to text, one per kernel file that has entries.</summary>
    public static IReadOnlyDictionary<string, string> Generate() =>
        KernelSignatures
            .All.Values.GroupBy(s => s.File)
            .OrderBy(g => g.Key, StringComparer.Ordinal)
            .ToDictionary(
                g => FileName(g.Key),
                g => Text(g.Key, g.OrderBy(s => s.Name, StringComparer.Ordinal)),
                StringComparer.Ordinal
            );

    /// <summary>Writes every generated file under <paramref name="repositoryRoot"/> (each atomically); returns the paths written.</summary>
    public static IReadOnlyList<string> Write(string repositoryRoot)
    {
        var written = new List<string>();
        foreach (var (name, text) in Generate())
        {
            var path = Path.Combine(repositoryRoot, Folder, name);
            var part = path + ".part";
            File.WriteAllText(part, text, new UTF8Encoding(false));
            File.Move(part, path, overwrite: true);
            written.Add(path);
        }
        return written;
    }

    private static string Text(string cuFile, IEnumerable<KernelSignature> kernels)
    {
        var sb = new StringBuilder();
        sb.Append("// ")
            .Append(FileName(cuFile))
            .Append(": launch entries of ")
            .Append(cuFile)
            .Append(
                " for the CPU emulation library.\n"
                    + "// Generated from KernelSignatures (src/SpikeEngine.Cuda/Kernels/KernelSignatures.cs) by\n"
                    + "// EmulationEntries: `dotnet pwsh build.ps1 emulation-entries` rewrites it; do not edit.\n"
                    + "#include \"cuda_emulation.h\"\n"
            )
            .Append("#include \"../")
            .Append(cuFile)
            .Append("\"\n\n");
        foreach (var k in kernels)
        {
            sb.Append("SPIKE_EMU_ENTRY(").Append(k.Name);
            for (var i = 0; i < k.Params.Count; i++)
            {
                var macro = k.Params[i].Type switch
                {
                    KernelParamType.Pointer => "SPIKE_EMU_P",
                    KernelParamType.Int32 => "SPIKE_EMU_I",
                    KernelParamType.Int64 => "SPIKE_EMU_L",
                    _ => "SPIKE_EMU_F",
                };
                sb.Append(", ").Append(macro).Append('(').Append(i).Append(')');
            }
            sb.Append(")\n");
        }
        return sb.ToString();
    }
}
