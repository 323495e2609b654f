using System.Security.Cryptography;
using System.Text;

namespace SpikeEngine.Cuda.Kernels;

/// <summary>
/// The <c>kernels/*.cu</c> and <c>*.cuh</c> files embedded in this assembly, and any precompiled
/// PTX from <c>build.ps1 kernels</c>. Headers are handed to NVRTC by name, which is how the
/// <c>#include "common.cuh"</c> lines resolve (NVRTC ships no headers of its own).
/// </summary>
public static class KernelSources
{
    private const string SourcePrefix = "kernels/";
    private const string PtxPrefix = "ptx/";

    /// <summary>First line of a precompiled PTX file, followed by <see cref="SourceHash"/>.</summary>
    public const string PtxHashMarker = "// spikeengine-source-sha256: ";

    private static readonly Lazy<IReadOnlyDictionary<string, string>> All = new(ReadAll);

    /// <summary>The kernel files (<c>.cu</c>), e.g. <c>neuron.cu</c>, sorted.</summary>
    public static IReadOnlyList<string> Files =>
        [
            .. All
                .Value.Keys.Where(k => k.EndsWith(".cu", StringComparison.Ordinal))
                .Order(StringComparer.Ordinal),
        ];

    /// <summary>The shared headers (<c>.cuh</c>) by include name.</summary>
    public static IReadOnlyDictionary<string, string> Headers { get; } =
        new Lazy<Dictionary<string, string>>(() =>
            All
                .Value.Where(kv => kv.Key.EndsWith(".cuh", StringComparison.Ordinal))
                .ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal)
        ).Value;

    /// <summary>The text of one embedded kernel file or header.</summary>
    public static string Read(string file) =>
        All.Value.TryGetValue(file, out var text)
            ? text
            : throw new ArgumentException(
                $"KernelSources.Read: no embedded kernel file '{file}' (have: {string.Join(", ", All.Value.Keys)})",
                nameof(file)
            );

    /// <summary>
    /// SHA-256 (hex) of a kernel file together with every header and the compile options
    /// (<see cref="NvrtcCompiler.Options"/>), so a header edit or an option change invalidates
    /// cached and precompiled binaries of every file.
    /// </summary>
    public static string SourceHash(string file) =>
        HashOf(Read(file), Headers, NvrtcCompiler.Options);

    /// <summary>The hash for explicit text and compile options (used for sources not embedded, e.g. tests).</summary>
    public static string HashOf(
        string source,
        IReadOnlyDictionary<string, string> headers,
        IEnumerable<string> options
    )
    {
        var sb = new StringBuilder(source);
        foreach (var (name, text) in headers.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            sb.Append('\0').Append(name).Append('\0').Append(text);
        }
        foreach (var option in options)
        {
            sb.Append("\0option\0").Append(option);
        }
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(sb.ToString())));
    }

    /// <summary>Precompiled PTX for <paramref name="file"/> if embedded and built from the current source, else null.</summary>
    public static string? PrecompiledPtx(string file)
    {
        var name = PtxPrefix + Path.ChangeExtension(file, ".ptx");
        using var stream = typeof(KernelSources).Assembly.GetManifestResourceStream(name);
        if (stream is null)
        {
            return null;
        }
        using var reader = new StreamReader(stream);
        var ptx = reader.ReadToEnd();
        var firstLine = ptx.AsSpan()[..Math.Max(0, ptx.IndexOf('\n', StringComparison.Ordinal))]
            .Trim();
        return firstLine.SequenceEqual((PtxHashMarker + SourceHash(file)).AsSpan()) ? ptx : null;
    }

    private static IReadOnlyDictionary<string, string> ReadAll()
    {
        var asm = typeof(KernelSources).Assembly;
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (
            var name in asm.GetManifestResourceNames()
                .Where(n => n.StartsWith(SourcePrefix, StringComparison.Ordinal))
        )
        {
            using var stream = asm.GetManifestResourceStream(name)!;
            using var reader = new StreamReader(stream);
            result[name[SourcePrefix.Length..]] = reader.ReadToEnd();
        }
        return result;
    }
}
