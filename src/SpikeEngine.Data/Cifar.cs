namespace SpikeEngine.Data;

/// <summary>Which CIFAR binary layout a file uses.</summary>
public enum CifarKind
{
    /// <summary>Records of 1 label byte + 3072 pixel bytes; 10 classes.</summary>
    Cifar10,

    /// <summary>Records of 1 coarse label byte + 1 fine label byte + 3072 pixel bytes; the fine label (100 classes) is used.</summary>
    Cifar100,
}

/// <summary>
/// Reader for the CIFAR-10 / CIFAR-100 binary versions. Each record holds its label byte(s)
/// followed by a 32x32 image as 1024 red, 1024 green then 1024 blue bytes (rows top to bottom),
/// which is already the (C, H, W) layout the engine uses, so records are copied as they are.
/// </summary>
public static class Cifar
{
    /// <summary>Bytes of one image: 3 x 32 x 32.</summary>
    public const int ImageBytes = 3 * 32 * 32;

    /// <summary>Sample shape (3, 32, 32).</summary>
    public static readonly SampleShape Shape = new(3, 32, 32);

    /// <summary>Label bytes per record: 1 (CIFAR-10) or 2 (CIFAR-100: coarse, fine).</summary>
    public static int LabelBytes(CifarKind kind) => kind == CifarKind.Cifar10 ? 1 : 2;

    /// <summary>Bytes per record: 3073 (CIFAR-10) or 3074 (CIFAR-100).</summary>
    public static int RecordBytes(CifarKind kind) => LabelBytes(kind) + ImageBytes;

    /// <summary>Number of classes: 10, or 100 fine classes.</summary>
    public static int NumClasses(CifarKind kind) => kind == CifarKind.Cifar10 ? 10 : 100;

    /// <summary>
    /// Reads and concatenates the binary batch files in order. Throws
    /// <see cref="DataFormatException"/> when a file is empty, is not a whole number of records,
    /// or holds a label outside the class range.
    /// </summary>
    public static ByteImageDataset Load(IEnumerable<string> files, CifarKind kind)
    {
        ArgumentNullException.ThrowIfNull(files);
        var contents = new List<(byte[] Bytes, string Name)>();
        foreach (string file in files)
            contents.Add((File.ReadAllBytes(file), file));
        if (contents.Count == 0)
            throw new ArgumentException("no CIFAR batch files given", nameof(files));
        return Parse(contents, kind);
    }

    /// <summary>Parses CIFAR batches held in memory; each name is used in error messages.</summary>
    public static ByteImageDataset Parse(
        IReadOnlyList<(byte[] Bytes, string Name)> batches,
        CifarKind kind
    )
    {
        int record = RecordBytes(kind);
        int labelBytes = LabelBytes(kind);
        int classes = NumClasses(kind);
        long total = 0;
        foreach (var (bytes, name) in batches)
        {
            if (bytes.Length == 0)
                throw new DataFormatException(
                    name,
                    "offset 0",
                    $"file is empty; expected {kind} records of {record} bytes"
                );
            if (bytes.Length % record != 0)
                throw new DataFormatException(
                    name,
                    $"offset {bytes.Length / record * record} (record {bytes.Length / record})",
                    $"file is {bytes.Length} bytes, not a whole number of {record}-byte {kind} records "
                        + $"({bytes.Length / record} records + {bytes.Length % record} bytes); the file is truncated or not {kind}"
                );
            total += bytes.Length / record;
        }
        if (total * ImageBytes > Array.MaxLength)
            throw new ArgumentException(
                $"{total} CIFAR records do not fit in one array",
                nameof(batches)
            );

        var pixels = new byte[total * ImageBytes];
        var labels = new int[total];
        long n = 0;
        foreach (var (bytes, name) in batches)
        {
            int records = bytes.Length / record;
            for (int r = 0; r < records; r++, n++)
            {
                int offset = r * record;
                int label = bytes[offset + labelBytes - 1]; // CIFAR-100: the fine label is the second byte
                if (label >= classes)
                    throw new DataFormatException(
                        name,
                        $"offset {offset + labelBytes - 1} (record {r})",
                        $"label {label} is outside [0, {classes}); is this a {(kind == CifarKind.Cifar10 ? "CIFAR-100" : "CIFAR-10")} file?"
                    );
                if (kind == CifarKind.Cifar100 && bytes[offset] >= 20)
                    throw new DataFormatException(
                        name,
                        $"offset {offset} (record {r})",
                        $"coarse label {bytes[offset]} is outside [0, 20)"
                    );
                labels[n] = label;
                bytes
                    .AsSpan(offset + labelBytes, ImageBytes)
                    .CopyTo(pixels.AsSpan((int)(n * ImageBytes), ImageBytes));
            }
        }
        return new ByteImageDataset(pixels, labels, Shape, classes);
    }

    /// <summary>
    /// Loads the standard CIFAR-10 split from <paramref name="directory"/> (or its
    /// "cifar-10-batches-bin" subfolder): data_batch_1..5.bin for training, test_batch.bin for test.
    /// </summary>
    public static ByteImageDataset LoadCifar10(string directory, bool train)
    {
        string dir = Resolve(directory, "cifar-10-batches-bin", "test_batch.bin");
        string[] names = train
            ?
            [
                "data_batch_1.bin",
                "data_batch_2.bin",
                "data_batch_3.bin",
                "data_batch_4.bin",
                "data_batch_5.bin",
            ]
            : ["test_batch.bin"];
        return Load(RequireFiles(dir, names, "CIFAR-10"), CifarKind.Cifar10);
    }

    /// <summary>
    /// Loads the standard CIFAR-100 split from <paramref name="directory"/> (or its
    /// "cifar-100-binary" subfolder): train.bin or test.bin, fine labels.
    /// </summary>
    public static ByteImageDataset LoadCifar100(string directory, bool train)
    {
        string dir = Resolve(directory, "cifar-100-binary", "test.bin");
        return Load(
            RequireFiles(dir, [train ? "train.bin" : "test.bin"], "CIFAR-100"),
            CifarKind.Cifar100
        );
    }

    private static string Resolve(string directory, string sub, string probe)
    {
        ArgumentNullException.ThrowIfNull(directory);
        string nested = Path.Combine(directory, sub);
        return !File.Exists(Path.Combine(directory, probe)) && Directory.Exists(nested)
            ? nested
            : directory;
    }

    private static string[] RequireFiles(string dir, string[] names, string what)
    {
        string[] paths = names.Select(n => Path.Combine(dir, n)).ToArray();
        string[] missing = paths.Where(p => !File.Exists(p)).ToArray();
        if (missing.Length > 0)
            throw new FileNotFoundException(
                $"{what} binary files missing in '{Path.GetFullPath(dir)}': {string.Join(", ", missing.Select(Path.GetFileName))}",
                missing[0]
            );
        return paths;
    }
}
