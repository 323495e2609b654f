namespace SpikeEngine.Training.Checkpoints;

/// <summary>Crash-safe file replacement: a temp file in the same folder, flushed to disk, then renamed.</summary>
public static class AtomicFile
{
    /// <summary>
    /// Writes <paramref name="bytes"/> to <paramref name="path"/> so that a reader (or a process
    /// killed mid-write) sees either the old file or the whole new one, never a prefix.
    /// </summary>
    public static void Write(string path, ReadOnlySpan<byte> bytes, bool overwrite = true) =>
        Data.AtomicWrite.Bytes(path, bytes, overwrite);
}
