using System.Text;

namespace SpikeEngine.Cuda.Kernels;

/// <summary>
/// Writes the PTX files that <c>build.ps1 kernels</c> embeds, each starting with
/// <see cref="KernelSources.PtxHashMarker"/> and the source hash so a stale file is ignored.
/// </summary>
public static class KernelPrecompiler
{
    /// <summary>The header line for a PTX built from the current <paramref name="file"/>.</summary>
    public static string HashLine(string file) =>
        KernelSources.PtxHashMarker + KernelSources.SourceHash(file);

    /// <summary>Compiles every kernel file with NVRTC to PTX for <paramref name="target"/> into <paramref name="outputDirectory"/>.</summary>
    public static IReadOnlyList<string> WritePtxWithNvrtc(
        string outputDirectory,
        string target = "compute_75"
    )
    {
        Directory.CreateDirectory(outputDirectory);
        var written = new List<string>();
        foreach (var file in KernelSources.Files)
        {
            var ptx = NvrtcCompiler.CompileEmbedded(file, target).Ptx;
            var path = Path.Combine(outputDirectory, Path.ChangeExtension(file, ".ptx"));
            File.WriteAllText(path, HashLine(file) + "\n" + ptx, new UTF8Encoding(false));
            written.Add(path);
        }
        return written;
    }

    /// <summary>Prepends the hash line to a PTX file that nvcc wrote.</summary>
    public static void StampPtx(string file, string ptxPath)
    {
        var text = File.ReadAllText(ptxPath);
        File.WriteAllText(ptxPath, HashLine(file) + "\n" + text, new UTF8Encoding(false));
    }
}
