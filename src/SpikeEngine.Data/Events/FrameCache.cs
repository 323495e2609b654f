using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace SpikeEngine.Data;

/// <summary>
/// Integrated frames on disk, so an epoch does not re-read and re-integrate every recording.
/// One file per (recording, segment, T, split): a 64-byte header — magic <c>SEFRAMES</c>, int32
/// version, int32 T, C, H, W, then the SHA-256 of the payload (32 bytes) — and the counts as
/// little-endian float32 [T, C, H, W]. The file name hashes the recording's full path, length,
/// write time, the segment and the integration settings, so a changed recording or setting
/// misses the cache. A file that fails its checks (truncated, corrupt, another version) is
/// recomputed and replaced; files are written atomically.
/// </summary>
public sealed class FrameCache(string directory)
{
    /// <summary>Bumped whenever the integration or the file layout changes.</summary>
    public const int Version = 1;
    private static readonly byte[] s_magic = "SEFRAMES"u8.ToArray();
    private const int HeaderBytes = 64;

    public string Directory { get; } = directory;

    /// <summary>Cache hits and misses since construction (misses include rejected files).</summary>
    public long Hits => _hits;
    public long Misses => _misses;
    private long _hits,
        _misses;

    /// <summary>The frames of <paramref name="key"/> (shape [T, C, H, W]), from disk or from <paramref name="compute"/> (then stored).</summary>
    public float[] GetOrAdd(string file, string key, int[] shape, Func<float[]> compute)
    {
        var info = new FileInfo(file);
        var id = string.Create(
            CultureInfo.InvariantCulture,
            $"{Version}|{info.FullName}|{info.Length}|{info.LastWriteTimeUtc.Ticks}|{key}|{string.Join('x', shape)}"
        );
        var name =
            Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(id)))[..32] + ".frames";
        var path = Path.Combine(Directory, name);
        int count = shape.Aggregate(1, (a, b) => checked(a * b));
        if (TryRead(path, shape, count) is { } cached)
        {
            Interlocked.Increment(ref _hits);
            return cached;
        }
        Interlocked.Increment(ref _misses);
        var frames = compute();
        if (frames.Length != count)
            throw new InvalidOperationException(
                $"frame cache: computed {frames.Length} values for shape {string.Join('x', shape)}"
            );
        AtomicWrite.Bytes(path, Encode(frames, shape));
        return frames;
    }

    internal static byte[] Encode(float[] frames, int[] shape)
    {
        var bytes = new byte[HeaderBytes + frames.Length * 4];
        var payload = bytes.AsSpan(HeaderBytes);
        for (int i = 0; i < frames.Length; i++)
            BinaryPrimitives.WriteSingleLittleEndian(payload[(i * 4)..], frames[i]);
        s_magic.CopyTo(bytes, 0);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(8), Version);
        for (int d = 0; d < 4; d++)
            BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(12 + 4 * d), shape[d]);
        SHA256.HashData(payload, bytes.AsSpan(28, 32));
        return bytes;
    }

    private static float[]? TryRead(string path, int[] shape, int count)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
        if (bytes.Length != HeaderBytes + 4L * count || !bytes.AsSpan(0, 8).SequenceEqual(s_magic))
            return null;
        if (BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(8)) != Version)
            return null;
        for (int d = 0; d < 4; d++)
            if (BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(12 + 4 * d)) != shape[d])
                return null;
        var payload = bytes.AsSpan(HeaderBytes);
        if (!SHA256.HashData(payload).AsSpan().SequenceEqual(bytes.AsSpan(28, 32)))
            return null;
        var frames = new float[count];
        for (int i = 0; i < count; i++)
            frames[i] = BinaryPrimitives.ReadSingleLittleEndian(payload[(i * 4)..]);
        return frames;
    }
}
