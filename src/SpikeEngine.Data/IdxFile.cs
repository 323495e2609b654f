using System.Buffers.Binary;
using System.IO.Compression;

namespace SpikeEngine.Data;

/// <summary>
/// One array read from an IDX file (the MNIST format): a big-endian header
/// <c>00 00 TYPE NDIM</c>, then NDIM big-endian int32 extents, then the elements in row-major
/// order. Only unsigned bytes (TYPE 0x08) are supported, which is what MNIST and Fashion-MNIST use.
/// </summary>
public sealed class IdxFile
{
    /// <summary>IDX type code of unsigned bytes.</summary>
    public const byte UnsignedByteType = 0x08;

    /// <summary>The most elements one file may hold (the array is kept in one .NET byte array).</summary>
    public static readonly long MaxElements = Array.MaxLength;

    private IdxFile(int[] dimensions, byte[] data)
    {
        Dimensions = dimensions;
        Data = data;
    }

    /// <summary>Extents, outermost first: (N, H, W) for images, (N) for labels.</summary>
    public IReadOnlyList<int> Dimensions { get; }

    /// <summary>Elements in row-major order.</summary>
    public byte[] Data { get; }

    /// <summary>
    /// Reads an IDX file, raw or gzip-compressed (detected by the gzip magic 1F 8B, not by the
    /// name). Throws <see cref="DataFormatException"/> naming the file for any malformed content.
    /// </summary>
    public static IdxFile Read(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        using var stream = new FileStream(
            path,
            FileMode.Open,
            FileAccess.Read,
            FileShare.Read,
            1 << 16
        );
        return Read(stream, path);
    }

    /// <summary>Reads an IDX array from <paramref name="stream"/>; <paramref name="name"/> is used in error messages.</summary>
    public static IdxFile Read(Stream stream, string name)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(name);
        if (!stream.CanSeek)
            throw new ArgumentException("the stream must be seekable", nameof(stream));
        Span<byte> magic = stackalloc byte[2];
        int got = ReadFully(stream, magic, name, compressed: false);
        stream.Seek(-got, SeekOrigin.Current);
        if (got == 2 && magic[0] == 0x1F && magic[1] == 0x8B)
        {
            using var gz = new GZipStream(stream, CompressionMode.Decompress, leaveOpen: true);
            return ReadRaw(gz, name, compressed: true, knownLength: -1);
        }
        long length = stream.Length - stream.Position;
        return ReadRaw(stream, name, compressed: false, knownLength: length);
    }

    /// <summary>Parses an IDX array held in memory (raw or gzip).</summary>
    public static IdxFile Parse(byte[] bytes, string name)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        using var stream = new MemoryStream(bytes, writable: false);
        return Read(stream, name);
    }

    private static IdxFile ReadRaw(Stream stream, string name, bool compressed, long knownLength)
    {
        string where = compressed ? "decompressed offset" : "offset";
        Span<byte> head = stackalloc byte[4];
        int got = ReadFully(stream, head, name, compressed);
        if (got < 4)
            throw new DataFormatException(
                name,
                $"{where} 0",
                $"file ends after {got} bytes; expected a 4-byte IDX magic number (00 00 type ndim)"
            );
        if (head[0] != 0 || head[1] != 0)
            throw new DataFormatException(
                name,
                $"{where} 0",
                $"bad IDX magic {head[0]:X2} {head[1]:X2} {head[2]:X2} {head[3]:X2}; expected 00 00 08 ndim"
            );
        if (head[2] != UnsignedByteType)
            throw new DataFormatException(
                name,
                $"{where} 2",
                $"IDX element type 0x{head[2]:X2} is not supported; expected 0x08 (unsigned byte)"
            );
        int ndim = head[3];
        if (ndim == 0)
            throw new DataFormatException(
                name,
                $"{where} 3",
                "IDX dimension count is 0; expected at least 1"
            );

        Span<byte> dimBytes = stackalloc byte[4 * 255];
        dimBytes = dimBytes[..(4 * ndim)];
        got = ReadFully(stream, dimBytes, name, compressed);
        if (got < dimBytes.Length)
            throw new DataFormatException(
                name,
                $"{where} {4 + got}",
                $"file ends inside the header; expected {ndim} 4-byte dimensions ({4 + 4 * ndim} header bytes)"
            );
        var dims = new int[ndim];
        long count = 1;
        for (int d = 0; d < ndim; d++)
        {
            int extent = BinaryPrimitives.ReadInt32BigEndian(dimBytes.Slice(4 * d, 4));
            if (extent < 0)
                throw new DataFormatException(
                    name,
                    $"{where} {4 + 4 * d}",
                    $"dimension {d} is {extent}; expected a non-negative extent"
                );
            dims[d] = extent;
            count *= extent;
            if (count > MaxElements)
                throw new DataFormatException(
                    name,
                    $"{where} {4 + 4 * d}",
                    $"dimensions ({string.Join(", ", dims[..(d + 1)])}...) hold more than {MaxElements} elements"
                );
        }
        long headerLength = 4 + 4L * ndim;
        if (knownLength >= 0 && knownLength != headerLength + count)
            throw new DataFormatException(
                name,
                $"{where} {headerLength}",
                $"file is {knownLength} bytes; dimensions ({string.Join(", ", dims)}) need {headerLength} header bytes + {count} data bytes = {headerLength + count}"
            );
        byte[] data = ReadData(stream, name, compressed, count, headerLength, dims);
        return new IdxFile(dims, data);
    }

    private static byte[] ReadData(
        Stream stream,
        string name,
        bool compressed,
        long count,
        long headerLength,
        int[] dims
    )
    {
        // A compressed file's size is unknown until it is inflated, and a corrupt header may claim
        // gigabytes: grow the buffer as data actually arrives rather than trusting the header.
        byte[] data = compressed ? new byte[Math.Min(count, 1 << 20)] : new byte[count];
        long filled = 0;
        while (filled < count)
        {
            if (filled == data.Length)
                Array.Resize(ref data, (int)Math.Min(count, 2L * data.Length));
            int n = ReadSome(
                stream,
                data.AsSpan((int)filled, (int)(data.Length - filled)),
                name,
                compressed
            );
            if (n == 0)
                throw new DataFormatException(
                    name,
                    $"{(compressed ? "decompressed offset" : "offset")} {headerLength + filled}",
                    $"file is truncated: dimensions ({string.Join(", ", dims)}) need {count} data bytes, found {filled}"
                );
            filled += n;
        }
        if (compressed)
        {
            Span<byte> extra = stackalloc byte[1];
            if (ReadSome(stream, extra, name, compressed) != 0)
                throw new DataFormatException(
                    name,
                    $"decompressed offset {headerLength + count}",
                    $"data continues past the {count} bytes that dimensions ({string.Join(", ", dims)}) describe"
                );
        }
        return data;
    }

    private static int ReadFully(Stream stream, Span<byte> buffer, string name, bool compressed)
    {
        int total = 0;
        while (total < buffer.Length)
        {
            int n = ReadSome(stream, buffer[total..], name, compressed);
            if (n == 0)
                break;
            total += n;
        }
        return total;
    }

    private static int ReadSome(Stream stream, Span<byte> buffer, string name, bool compressed)
    {
        try
        {
            return stream.Read(buffer);
        }
        catch (InvalidDataException e) when (compressed)
        {
            throw new DataFormatException(
                name,
                "gzip stream",
                $"corrupt gzip data: {e.Message}",
                e
            );
        }
    }
}
