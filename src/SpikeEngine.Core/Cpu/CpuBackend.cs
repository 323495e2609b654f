using System.Numerics.Tensors;
using System.Runtime.InteropServices;

namespace SpikeEngine.Cpu;

/// <summary>
/// The CPU backend: the reference for every kernel and a real engine. Elementwise work is
/// vectorised with <see cref="TensorPrimitives"/> and split across cores; GEMM goes to OpenBLAS when
/// it is installed (<see cref="Blas"/>), otherwise to a blocked managed kernel.
/// </summary>
public sealed partial class CpuBackend : IBackend
{
    public static CpuBackend Instance { get; } = new();

    private CpuBackend() { }

    public Device Device => Device.Cpu;

    // -- memory ---------------------------------------------------------------------------

    public Storage Allocate(DType dtype, long length, bool zero)
    {
        using var profile = OpProfile.Time(OpKind.Allocation);
        return CpuAllocator.Allocate(dtype, length, zero);
    }

    public void CopyFromHost(ReadOnlySpan<float> src, Tensor dst)
    {
        if (dst.DType == DType.Int32)
            MemoryMarshal.Cast<float, int>(src).CopyTo(dst.Span<int>());
        else
            src.CopyTo(dst.Span());
    }

    public void CopyToHost(Tensor src, Span<float> dst)
    {
        if (dst.Length < src.Numel)
            throw new ArgumentException(
                $"CopyToHost: {src.Describe()} does not fit in {dst.Length} values"
            );
        if (src.DType == DType.Int32)
            src.Span<int>().CopyTo(MemoryMarshal.Cast<float, int>(dst));
        else
            src.Span().CopyTo(dst);
    }

    public void Convert(Tensor src, Tensor dst)
    {
        using var profile = OpProfile.Time(OpKind.Elementwise);
        if (src.DType == dst.DType)
        {
            CopyRaw(src, dst);
            return;
        }
        if (src.DType == DType.Bit || dst.DType == DType.Bit)
        {
            ConvertBits(src, dst);
            return;
        }
        var n = (int)src.Numel;
        switch (src.DType, dst.DType)
        {
            case (DType.Float32, DType.BFloat16):
                ConvertSplit<float, ushort>(src, dst, Half16.ToBFloat16);
                break;
            case (DType.Float32, DType.Float16):
                ConvertSplit<float, ushort>(
                    src,
                    dst,
                    (a, b) => TensorPrimitives.ConvertToHalf(a, MemoryMarshal.Cast<ushort, Half>(b))
                );
                break;
            case (DType.BFloat16, DType.Float32):
                ConvertSplit<ushort, float>(src, dst, Half16.FromBFloat16);
                break;
            case (DType.Float16, DType.Float32):
                ConvertSplit<ushort, float>(
                    src,
                    dst,
                    (a, b) =>
                        TensorPrimitives.ConvertToSingle(MemoryMarshal.Cast<ushort, Half>(a), b)
                );
                break;
            case (DType.Float32, DType.Int32):
                TensorPrimitives.ConvertTruncating<float, int>(src.Span(), dst.Span<int>());
                break;
            case (DType.Int32, DType.Float32):
                TensorPrimitives.ConvertTruncating<int, float>(src.Span<int>(), dst.Span());
                break;
            case (DType.UInt8, DType.Float32):
                TensorPrimitives.ConvertTruncating<byte, float>(src.Span<byte>(), dst.Span());
                break;
            case (DType.Float32, DType.UInt8):
                ConvertLoop(src.Span(), dst.Span<byte>(), v => (byte)Math.Clamp(v, 0f, 255f));
                break;
            default:
                throw new NotSupportedException(
                    $"convert: {src.DType.Name()} to {dst.DType.Name()} (n={n})"
                );
        }
    }

    // A vectorised conversion between 32- and 16-bit element types, split across cores.
    private static void ConvertSplit<TIn, TOut>(
        Tensor src,
        Tensor dst,
        ConvertSpan<TIn, TOut> convert
    )
        where TIn : unmanaged
        where TOut : unmanaged =>
        Par.Elementwise(
            src.Numel,
            (s, n) => convert(src.Span<TIn>().Slice(s, n), dst.Span<TOut>().Slice(s, n))
        );

    private delegate void ConvertSpan<TIn, TOut>(ReadOnlySpan<TIn> src, Span<TOut> dst);

    private static void CopyRaw(Tensor src, Tensor dst)
    {
        switch (src.DType)
        {
            case DType.Float32:
                src.Span().CopyTo(dst.Span());
                break;
            case DType.Int32:
                src.Span<int>().CopyTo(dst.Span<int>());
                break;
            case DType.BFloat16 or DType.Float16:
                src.Span<ushort>().CopyTo(dst.Span<ushort>());
                break;
            default:
                src.Span<byte>().CopyTo(dst.Span<byte>());
                break;
        }
    }

    private static void ConvertLoop<TIn, TOut>(Span<TIn> src, Span<TOut> dst, Func<TIn, TOut> f)
    {
        for (var i = 0; i < src.Length; i++)
            dst[i] = f(src[i]);
    }

    /// <summary>The float array behind a CPU tensor (for kernels that split work across threads).</summary>
    internal static float[] ArrayOf(Tensor t) => (float[])((CpuStorage)t.Storage).Data;
}
