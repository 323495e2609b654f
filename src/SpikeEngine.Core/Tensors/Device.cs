namespace SpikeEngine;

/// <summary>Kind of device a tensor lives on.</summary>
public enum DeviceKind
{
    Cpu,
    Cuda,
}

/// <summary>A compute device: the CPU, or CUDA device <see cref="Index"/>.</summary>
public readonly record struct Device(DeviceKind Kind, int Index)
{
    /// <summary>The host CPU.</summary>
    public static Device Cpu => new(DeviceKind.Cpu, 0);

    /// <summary>CUDA device number <paramref name="index"/>.</summary>
    public static Device Cuda(int index = 0)
    {
        if (index < 0)
            throw new ArgumentException(
                $"Device.Cuda: index must be >= 0, got {index}",
                nameof(index)
            );
        return new(DeviceKind.Cuda, index);
    }

    /// <summary>Parses "cpu", "cuda" or "cuda:N".</summary>
    public static Device Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var t = text.Trim().ToLowerInvariant();
        if (t == "cpu")
            return Cpu;
        if (t == "cuda")
            return Cuda(0);
        if (
            t.StartsWith("cuda:", StringComparison.Ordinal)
            && int.TryParse(t[5..], out var n)
            && n >= 0
        )
            return Cuda(n);
        throw new ArgumentException(
            $"device: expected 'cpu', 'cuda' or 'cuda:N', got '{text}'",
            nameof(text)
        );
    }

    public override string ToString() => Kind == DeviceKind.Cpu ? "cpu" : $"cuda:{Index}";
}
