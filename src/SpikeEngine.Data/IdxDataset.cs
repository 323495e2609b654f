namespace SpikeEngine.Data;

/// <summary>Loads an images + labels pair of IDX files (MNIST, Fashion-MNIST) into memory.</summary>
public static class IdxDataset
{
    /// <summary>
    /// Reads <paramref name="imagesPath"/> (IDX, 3 dimensions: N, H, W) and
    /// <paramref name="labelsPath"/> (IDX, 1 dimension: N), each raw or gzip, into a
    /// <see cref="ByteImageDataset"/> of shape (1, H, W). Throws <see cref="DataFormatException"/>
    /// when either file is malformed, the counts differ, or a label is not below
    /// <paramref name="numClasses"/>.
    /// </summary>
    public static ByteImageDataset Load(string imagesPath, string labelsPath, int numClasses = 10)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(numClasses, 1);
        if (numClasses > 256)
            throw new ArgumentOutOfRangeException(
                nameof(numClasses),
                numClasses,
                "IDX labels are bytes: at most 256 classes"
            );
        IdxFile images = IdxFile.Read(imagesPath);
        IdxFile labels = IdxFile.Read(labelsPath);
        return FromArrays(images, imagesPath, labels, labelsPath, numClasses);
    }

    /// <summary>Builds the dataset from two parsed IDX arrays; names are used in error messages.</summary>
    public static ByteImageDataset FromArrays(
        IdxFile images,
        string imagesName,
        IdxFile labels,
        string labelsName,
        int numClasses
    )
    {
        if (images.Dimensions.Count != 3)
            throw new DataFormatException(
                imagesName,
                "offset 3",
                $"image file has {images.Dimensions.Count} dimensions; expected 3 (count, rows, columns)"
            );
        if (labels.Dimensions.Count != 1)
            throw new DataFormatException(
                labelsName,
                "offset 3",
                $"label file has {labels.Dimensions.Count} dimensions; expected 1 (count)"
            );
        int n = images.Dimensions[0];
        int h = images.Dimensions[1];
        int w = images.Dimensions[2];
        if (h == 0 || w == 0)
            throw new DataFormatException(
                imagesName,
                "offset 8",
                $"image size is {h}x{w}; expected positive rows and columns"
            );
        if (labels.Dimensions[0] != n)
            throw new DataFormatException(
                labelsName,
                "offset 4",
                $"label count {labels.Dimensions[0]} does not match the {n} images in {imagesName}"
            );
        byte[] raw = labels.Data;
        var ints = new int[n];
        for (int i = 0; i < n; i++)
        {
            if (raw[i] >= numClasses)
                throw new DataFormatException(
                    labelsName,
                    $"offset {8 + i} (label {i})",
                    $"label {raw[i]} is outside [0, {numClasses})"
                );
            ints[i] = raw[i];
        }
        return new ByteImageDataset(images.Data, ints, new SampleShape(1, h, w), numClasses);
    }
}
