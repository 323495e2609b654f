namespace SpikeEngine.Cuda.Kernels;

/// <summary>
/// On-disk cache of NVRTC output, in <c>SPIKEENGINE_KERNEL_CACHE</c> or
/// <c>$XDG_CACHE_HOME/spikeengine/kernels</c> (default <c>~/.cache/spikeengine/kernels</c>).
/// Key: source hash (headers included), target architecture and NVRTC version.
/// </summary>
public static class KernelCache
{
    public const string DirectoryVariable = "SPIKEENGINE_KERNEL_CACHE";

    /// <summary>The cache folder (not created until something is stored).</summary>
    public static string Directory
    {
        get
        {
            var env = Environment.GetEnvironmentVariable(DirectoryVariable);
            if (!string.IsNullOrEmpty(env))
            {
                return env;
            }
            var xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
            var root = string.IsNullOrEmpty(xdg)
                ? Path.Combine(
                    Environment.GetFolderPath(Environment.SpecialFolder.UserProfile),
                    ".cache"
                )
                : xdg;
            return Path.Combine(root, "spikeengine", "kernels");
        }
    }

    /// <summary>The file name for one compiled kernel file.</summary>
    public static string KeyPath(
        string file,
        string sourceHash,
        string target,
        (int Major, int Minor) nvrtc
    ) =>
        Path.Combine(
            Directory,
            $"{Path.GetFileNameWithoutExtension(file)}-{target}-nvrtc{nvrtc.Major}.{nvrtc.Minor}-{sourceHash[..16]}"
                + (target.StartsWith("sm_", StringComparison.Ordinal) ? ".cubin" : ".ptx")
        );

    /// <summary>The cached image, or null.</summary>
    public static byte[]? TryRead(string path)
    {
        try
        {
            return File.Exists(path) ? File.ReadAllBytes(path) : null;
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>Removes a cached image (a failure is ignored: the next write replaces it).</summary>
    public static void Delete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }

    /// <summary>Stores an image atomically (write a temporary file, then rename); a failure only costs a recompile.</summary>
    public static void Write(string path, byte[] image)
    {
        try
        {
            System.IO.Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            var tmp = $"{path}.{Environment.ProcessId}.tmp";
            File.WriteAllBytes(tmp, image);
            File.Move(tmp, path, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }
}
