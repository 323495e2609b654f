namespace SpikeEngine.Data;

/// <summary>
/// An ImageNet-style folder: <c>root/CLASS/IMAGE</c>, one subfolder per class. Class indices
/// follow the ordinal sort of the subfolder names; images (.jpg, .jpeg, .png, any case) are
/// listed in ordinal order of their names. Images are decoded on read (on the loader's worker
/// threads) and brought to (3, H, W) by an <see cref="IImageGeometry"/>.
/// </summary>
public sealed class ImageFolderDataset : IDataset
{
    private static readonly string[] s_extensions = [".jpg", ".jpeg", ".png"];
    private readonly string[] _files;
    private readonly int[] _labels;

    public ImageFolderDataset(string root, IImageGeometry geometry)
    {
        ArgumentNullException.ThrowIfNull(root);
        ArgumentNullException.ThrowIfNull(geometry);
        if (!Directory.Exists(root))
            throw new DirectoryNotFoundException(
                $"image folder '{Path.GetFullPath(root)}' does not exist"
            );
        Root = root;
        Geometry = geometry;
        string[] classDirs = Directory.GetDirectories(root);
        Array.Sort(classDirs, StringComparer.Ordinal);
        var files = new List<string>();
        var labels = new List<int>();
        var classes = new List<string>();
        foreach (string dir in classDirs)
        {
            int label = classes.Count;
            classes.Add(Path.GetFileName(dir));
            string[] images = Directory
                .GetFiles(dir)
                .Where(f =>
                    s_extensions.Contains(Path.GetExtension(f), StringComparer.OrdinalIgnoreCase)
                )
                .ToArray();
            Array.Sort(images, StringComparer.Ordinal);
            files.AddRange(images);
            labels.AddRange(Enumerable.Repeat(label, images.Length));
        }
        if (classes.Count == 0 || files.Count == 0)
            throw new DataFormatException(
                root,
                "folder",
                $"found {classes.Count} class subfolders and {files.Count} images; expected one subfolder per class holding .jpg/.jpeg/.png files"
            );
        Classes = classes;
        _files = files.ToArray();
        _labels = labels.ToArray();
        Shape = new SampleShape(3, geometry.OutputHeight, geometry.OutputWidth);
    }

    public string Root { get; }
    public IImageGeometry Geometry { get; }

    /// <summary>Class names; index = label.</summary>
    public IReadOnlyList<string> Classes { get; }

    /// <summary>Image paths, in sample order.</summary>
    public IReadOnlyList<string> Files => _files;

    public int Count => _files.Length;
    public SampleShape Shape { get; }
    public int NumClasses => Classes.Count;

    /// <summary>Label of sample <paramref name="index"/> without decoding it.</summary>
    public int LabelOf(int index) => _labels[index];

    public int ReadSample(int index, Span<float> destination, ref SampleRandom random)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Count);
        string path = _files[index];
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (IOException e)
        {
            throw new DataFormatException(path, "file", $"cannot read the image: {e.Message}", e);
        }
        ImageDecoder.DecodeInto(bytes, path, Geometry, ref random, destination);
        return _labels[index];
    }
}
