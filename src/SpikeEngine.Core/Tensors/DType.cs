namespace SpikeEngine;

/// <summary>Element type of a tensor's storage.</summary>
public enum DType
{
    /// <summary>IEEE 754 single precision; the compute type of every op.</summary>
    Float32,

    /// <summary>bfloat16 (8-bit exponent, 7-bit mantissa); a storage type for saved state.</summary>
    BFloat16,

    /// <summary>IEEE 754 half precision; a storage type for saved state.</summary>
    Float16,

    /// <summary>Unsigned byte: labels, masks, argmax indices within a pooling window.</summary>
    UInt8,

    /// <summary>32-bit signed integer: class labels.</summary>
    Int32,

    /// <summary>One bit per element, packed little-endian into bytes: binary spike tensors.</summary>
    Bit,
}

/// <summary>Sizes of the storage types.</summary>
public static class DTypeInfo
{
    /// <summary>Bytes needed to hold <paramref name="count"/> elements of <paramref name="dtype"/>.</summary>
    public static long ByteCount(this DType dtype, long count) =>
        dtype switch
        {
            DType.Float32 or DType.Int32 => count * 4,
            DType.BFloat16 or DType.Float16 => count * 2,
            DType.UInt8 => count,
            DType.Bit => (count + 7) / 8,
            _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "unknown dtype"),
        };

    /// <summary>Lower-case name used in messages and file formats.</summary>
    public static string Name(this DType dtype) =>
        dtype switch
        {
            DType.Float32 => "float32",
            DType.BFloat16 => "bfloat16",
            DType.Float16 => "float16",
            DType.UInt8 => "uint8",
            DType.Int32 => "int32",
            DType.Bit => "bit",
            _ => dtype.ToString(),
        };
}
