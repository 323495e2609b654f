namespace SpikeEngine.Data;

/// <summary>Crash-safe file replacement: a temp file in the same folder, flushed to disk, then renamed.</summary>
public static class AtomicWrite
{
    /// <summary>
    /// Writes <paramref name="bytes"/> to <paramref name="path"/> so that a reader (or a process
    /// killed mid-write) sees either the old file or the whole new one, never a prefix.
    /// </summary>
    public static void Bytes(string path, ReadOnlySpan<byte> bytes, bool overwrite = true)
    {
        var full = Path.GetFullPath(path);
        var dir = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(dir);
        var tmp = Path.Combine(
            dir,
            $".{Path.GetFileName(full)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp"
        );
        try
        {
            using (
                var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None)
            )
            {
                fs.Write(bytes);
                fs.Flush(flushToDisk: true);
            }
            File.Move(tmp, full, overwrite);
        }
        catch
        {
            try
            {
                File.Delete(tmp);
            }
            catch (IOException) { }
            throw;
        }
    }
}
